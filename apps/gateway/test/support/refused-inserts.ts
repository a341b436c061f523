import type { StoreDialect } from "./temp-database.js";

/** Statements that make a database refuse every new relay row (a full disk, a lost server). */
export const REFUSE_INSERTS: Record<StoreDialect, readonly string[]> = {
  sqlite: ["CREATE TRIGGER refuse BEFORE INSERT ON relays BEGIN SELECT RAISE(ABORT, 'disk full'); END"],
  postgres: [
    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER refuse BEFORE INSERT ON relays FOR EACH ROW EXECUTE FUNCTION refuse()",
  ],
};

/** The way back from {@link REFUSE_INSERTS}. */
export const ALLOW_INSERTS: Record<StoreDialect, string> = {
  sqlite: "DROP TRIGGER refuse",
  postgres: "DROP TRIGGER refuse ON relays",
};
