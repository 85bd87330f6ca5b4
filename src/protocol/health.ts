import { Type, type Static } from "@sinclair/typebox";

/**
 * `GET /healthz` when the server can take jobs. When it cannot (data disk full, job
 * store not writable) the answer is 503 with the error body, code `UNHEALTHY`, whose
 * sentence gives the reason.
 */
export const HealthJson = Type.Object({ status: Type.Literal("ok") }, { additionalProperties: false });
export type HealthJson = Static<typeof HealthJson>;
