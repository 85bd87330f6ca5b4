import { ERRORS, type HttpErrorCode } from "./errors.js";

/**
 * The single error type route code throws. Its status (and whether the body is empty)
 * comes from the {@link ERRORS} table; the message defaults to the table's and may be
 * made more precise ("cmd must be a string") but never carries internals.
 */
export class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly statusCode: number;
  /** The contract wants an empty body for this answer (404 of status and output). */
  readonly emptyBody: boolean;

  constructor(code: HttpErrorCode, message?: string) {
    const entry = ERRORS[code];
    super(message ?? entry.message);
    this.name = "HttpError";
    this.code = code;
    this.statusCode = entry.status;
    this.emptyBody = "emptyBody" in entry && entry.emptyBody === true;
  }

  /** The JSON body of this answer, or undefined for an empty one. */
  body(): { error: string } | undefined {
    return this.emptyBody ? undefined : { error: this.message };
  }
}
