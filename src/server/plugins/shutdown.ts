// While the server closes, requests still arriving get 503 SHUTTING_DOWN in our error
// shape (fastify's own 503 has none, and clients would take it for a stranger's answer:
// the app is built with return503OnClosing off), and their connection is not kept.
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { HttpError } from "../http-error.js";

export const shutdownPlugin = fp(
  async (app: FastifyInstance) => {
    let closing = false;
    app.addHook("preClose", async () => {
      closing = true;
    });
    app.addHook("onRequest", async (_request, reply) => {
      if (!closing) return;
      reply.header("connection", "close");
      throw new HttpError("SHUTTING_DOWN");
    });
  },
  { name: "jobworker-shutdown" },
);
