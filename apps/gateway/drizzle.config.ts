import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: ["./src/db/schema.ts", "./src/portal/portal-schema.ts"],
  out: "./drizzle",
});
