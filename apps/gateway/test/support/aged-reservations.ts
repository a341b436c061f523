import type { SqlClient } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";

/**
 * Makes every reservation row `ms` older, as if that long had passed since it was made: its `at`
 * and the time its id starts with (`reservationId`: 12 hex digits after `res_`), which the sweep
 * reads the table by.
 */
export const ageReservations = (db: SqlClient, ms: number) =>
  db.run(
    db.dialect === "sqlite"
      ? sql`update key_reservations set at = at - ${ms},
          id = 'res_' || printf('%012x', at - ${ms}) || substr(id, 17)`
      : sql`update key_reservations set at = at - ${ms},
          id = 'res_' || lpad(to_hex(at - ${ms}), 12, '0') || substr(id, 17)`,
  );
