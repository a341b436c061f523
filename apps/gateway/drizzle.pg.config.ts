import { defineConfig } from "drizzle-kit";

// PostgreSQL migrations (`drizzle/pg/`); SQLite's are `drizzle.config.ts` → `drizzle/`.
export default defineConfig({
  dialect: "postgresql",
  schema: ["./src/db/schema-pg.ts"],
  out: "./drizzle/pg",
});
