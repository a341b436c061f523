ALTER TABLE "nodes" ADD COLUMN "arrived_from" text;--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "arrived_at" bigint;--> statement-breakpoint
CREATE INDEX "nodes_arrivals" ON "nodes" USING btree ("arrived_from","arrived_at");