CREATE TABLE "portal_budget_grants" (
	"at" bigint NOT NULL,
	"micro_usd" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "portal_budget_grants_at" ON "portal_budget_grants" USING btree ("at");