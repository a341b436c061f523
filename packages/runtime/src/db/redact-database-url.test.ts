import { describe, expect, it } from "vitest";
import { redactDatabaseUrl } from "./postgres.js";

describe("redactDatabaseUrl", () => {
  it("hides the password before the host", () => {
    expect(redactDatabaseUrl("postgres://gateway:s3cret@db.internal:5432/pocket")).toBe(
      "postgres://gateway:***@db.internal:5432/pocket",
    );
  });

  it("hides a password passed as a query parameter, which the driver also reads", () => {
    const said = redactDatabaseUrl(
      "postgres://gateway@db.internal:5432/pocket?password=s3cret&sslmode=require&sslpassword=k3y",
    );
    expect(said).not.toContain("s3cret");
    expect(said).not.toContain("k3y");
    expect(said).toContain("sslmode=require");
    expect(said).toContain("db.internal:5432/pocket");
  });

  it("shows nothing of a string that is not a postgres:// URL, where a password could sit anywhere", () => {
    // The scheme left out: `gateway:` reads as the scheme, the password as the path.
    expect(redactDatabaseUrl("gateway:s3cret@db.internal/pocket")).not.toContain("s3cret");
    expect(redactDatabaseUrl("mysql://gateway:s3cret@db.internal/pocket")).not.toContain("s3cret");
    expect(redactDatabaseUrl("not a url s3cret")).not.toContain("s3cret");
  });
});
