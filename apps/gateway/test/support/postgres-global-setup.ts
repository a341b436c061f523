import { postgresAvailability, startTestPostgres } from "@pocket-ai/runtime/testing";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** A throwaway PostgreSQL server for this test run (`null` when PostgreSQL is not installed). */
    postgresUrl: string | null;
  }
}

/**
 * Vitest global setup: one throwaway PostgreSQL server (initdb + pg_ctl on a free loopback port)
 * for the whole run, stopped and removed at the end. Tests create their own database on it. With
 * no PostgreSQL installed, the PostgreSQL tests skip with a message — unless
 * `POCKET_REQUIRE_POSTGRES=1`, where this throws.
 */
export default async function setup(project: TestProject) {
  if (!postgresAvailability().available) {
    project.provide("postgresUrl", null);
    return;
  }
  const server = await startTestPostgres();
  project.provide("postgresUrl", server.url);
  return () => server.stop();
}
