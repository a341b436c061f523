CREATE TABLE "gateway_replicas" (
	"id" text PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"started_at" bigint NOT NULL,
	"last_seen_at" bigint NOT NULL
);
