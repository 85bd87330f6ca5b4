/** The library's public exports: `import { JobPool } from "jobworker"`. */
export * from "./engine/index.js";
