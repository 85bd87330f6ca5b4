import { ClientError } from "./errors.js";

/**
 * Maps a non-2xx answer of the API to a {@link ClientError}. `body` is the response
 * text (often `{"error": "..."}`, sometimes empty: 404s of status/output have no body).
 * `jobId` names the job in the "not found" message.
 */
export function httpError(status: number, body: string, url: string, jobId?: string): ClientError {
  const serverMessage = errorMessageOf(body);
  if (status === 404 && jobId !== undefined) {
    return new ClientError("JOB_NOT_FOUND", `no such job: ${jobId}`, {
      hint: "it does not exist or belongs to another identity; `jobworker list` shows yours",
      status,
    });
  }
  if (status === 400 || status === 413 || status === 415 || status === 422) {
    return new ClientError("BAD_REQUEST", `the server refused the request: ${serverMessage ?? `HTTP ${status}`}`, { status });
  }
  if (status === 429) {
    return new ClientError("LIMIT_REACHED", `limit reached: ${serverMessage ?? "too many requests"}`, {
      hint: "wait for some of your jobs to end, or stop some (`jobworker list`, `jobworker stop ID`)",
      status,
    });
  }
  if (status === 401 || status === 403) {
    return new ClientError("CERT_REJECTED", `the server at ${url} refused this client: ${serverMessage ?? `HTTP ${status}`}`, {
      hint: "use a certificate issued by the server's CA, pass it with --cert/--key",
      status,
    });
  }
  if (status === 404) {
    return new ClientError("SERVER_ERROR", `the server at ${url} does not know this request (HTTP 404)`, {
      hint: "is --server the address of `jobworker serve`?",
      status,
    });
  }
  return new ClientError("SERVER_ERROR", `the server failed: ${serverMessage ?? `HTTP ${status}`}`, { status });
}

/** The `error` field of a JSON error body, if there is one. */
export function errorMessageOf(body: string): string | undefined {
  if (!body) return undefined;
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed?.error === "string" ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}
