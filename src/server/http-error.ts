import type { ErrorBody } from "../protocol/errors.js";
import { ERRORS, type HttpErrorCode } from "./errors.js";

/**
 * The single error type route code throws. Its status comes from the {@link ERRORS}
 * table; the message defaults to the table's and may be made more precise ("cmd must be
 * a string") but never carries internals.
 */
export class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly statusCode: number;
  /** The contract wants an empty body for this answer (404 of status and output). */
  readonly emptyBody: boolean;

  constructor(code: HttpErrorCode, message?: string, options: { emptyBody?: boolean } = {}) {
    super(message ?? ERRORS[code].message);
    this.name = "HttpError";
    this.code = code;
    this.statusCode = ERRORS[code].status;
    this.emptyBody = options.emptyBody === true;
  }

  /** The JSON body of this answer, or undefined for an empty one. */
  body(): ErrorBody | undefined {
    return this.emptyBody ? undefined : { error: this.message, code: this.code };
  }
}
