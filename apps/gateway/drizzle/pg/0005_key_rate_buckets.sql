CREATE TABLE "key_rate_buckets" (
	"key_id" text NOT NULL,
	"second" bigint NOT NULL,
	"requests" bigint NOT NULL,
	"tokens" bigint NOT NULL,
	CONSTRAINT "key_rate_buckets_key_id_second_pk" PRIMARY KEY("key_id","second")
);
--> statement-breakpoint
CREATE INDEX "key_rate_buckets_second" ON "key_rate_buckets" USING btree ("second");--> statement-breakpoint
-- The reservations already in a window start in their buckets.
INSERT INTO "key_rate_buckets" ("key_id", "second", "requests", "tokens")
SELECT "key_id", "at" / 1000, sum("requests"), sum("tokens") FROM "key_reservations" GROUP BY "key_id", "at" / 1000;
