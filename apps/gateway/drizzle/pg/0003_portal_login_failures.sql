CREATE TABLE "portal_login_failures" (
	"subject" text NOT NULL,
	"at" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "portal_login_failures_subject" ON "portal_login_failures" USING btree ("subject","at");--> statement-breakpoint
CREATE INDEX "portal_login_failures_at" ON "portal_login_failures" USING btree ("at");