CREATE TABLE "probe_applications" (
	"address" text PRIMARY KEY NOT NULL,
	"born_at" bigint NOT NULL,
	"retire_at" bigint NOT NULL,
	"activity_ppm" bigint NOT NULL
);
