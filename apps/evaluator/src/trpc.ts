import { initTRPC } from "@trpc/server";

/** The evaluator's one tRPC instance. Its procedures are public, read-only queries. */
const t = initTRPC.create();

export const router = t.router;
export const publicProcedure = t.procedure;
export const createCallerFactory = t.createCallerFactory;
