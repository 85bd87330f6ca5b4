// Every error answer in our shape, `{"error", "code"}` (src/server/errors.ts, map-error.ts):
// thrown errors, unknown paths; an internal error is logged with its stack, never sent.
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { HttpError } from "../http-error.js";
import { toHttpError } from "../map-error.js";

export const errorAnswersPlugin = fp<{ log: (line: string) => void }>(
  async (app: FastifyInstance, { log }) => {
    app.setErrorHandler((err, request, reply) => {
      const httpError = toHttpError(err);
      if (httpError.code === "INTERNAL") {
        log(`internal error on ${request.method} ${request.routeOptions.url ?? "?"}: ${(err as Error)?.stack ?? String(err)}`.replaceAll("\n", " | "));
      }
      reply.code(httpError.statusCode);
      const body = httpError.body();
      return body ? reply.type("application/json; charset=utf-8").send(body) : reply.send();
    });
    app.setNotFoundHandler(async () => {
      throw new HttpError("NOT_FOUND");
    });
    // Response schemas (src/server/route-docs.ts) document the answers for the OpenAPI
    // document; they do not shape them: JSON.stringify, as without schemas, so no field is
    // ever dropped for lack of a line in a schema.
    app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  },
  { name: "jobworker-error-answers" },
);
