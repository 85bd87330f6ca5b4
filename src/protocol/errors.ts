import { Type, type Static } from "@sinclair/typebox";
import { ERROR_CODES } from "./error-codes.js";

/**
 * Every error body of the API (docs/api.md, "Errors"), except the empty-body 404 of
 * `GET /jobs/<id>/status` and `/output`: a sentence for people and a stable code for
 * programs.
 */
export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: "what went wrong, for people; may change between versions" }),
    code: Type.Union(ERROR_CODES.map((code) => Type.Literal(code)), { description: "stable, for programs" }),
  },
  { additionalProperties: false, $id: "ErrorBody" },
);
export type ErrorBody = Static<typeof ErrorBody>;
