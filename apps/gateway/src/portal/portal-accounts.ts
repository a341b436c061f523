import { randomBytes } from "node:crypto";
import { Effect, Runtime } from "effect";
import { z } from "zod";
import { Accounts } from "../accounts/accounts.js";
import { randomBase62 } from "../accounts/api-key-format.js";
import { hashPassword, needsRehash, verifyPassword } from "./password-hash.js";
import type { PortalConfig } from "./portal-config.js";
import { refuse } from "./portal-errors.js";
import { newSessionId, type PortalStore, type PortalUser } from "./portal-store.js";

const HOUR_MS = 3_600_000;
const LOGIN_WINDOW_MS = 15 * 60_000;
const Email = z.email().max(254);
/** Passwords everybody tries first; the length rule already rules out most of the rest. */
const COMMON = new Set([
  "password123",
  "password1234",
  "1234567890",
  "12345678910",
  "qwertyuiop",
  "qwerty12345",
  "iloveyou123",
  "letmein1234",
  "administrator",
  "passw0rd123",
  "0123456789",
  "abcdefghij",
]);

export interface SignupInput {
  readonly email: string;
  readonly password: string;
  /** The keyed tag of the client's network (see `client-network.ts`). */
  readonly network: string;
}

/**
 * Web accounts: sign-up (which creates the account's application through the gateway's Accounts
 * service), log-in with abuse limits, and sessions. Every refusal is a {@link PortalRefused} with
 * a protocol code.
 */
export class PortalAccounts {
  /** Compared against when the e-mail is unknown, so an unknown address costs as much as a wrong password. */
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly config: PortalConfig,
    private readonly store: PortalStore,
    private readonly runtime: Runtime.Runtime<Accounts>,
    private readonly now: () => number = Date.now,
  ) {}

  private isListedAdmin(email: string): boolean {
    return this.config.trustListedAdmins && this.config.admins.some((a) => a.toLowerCase() === email);
  }

  /**
   * Refuses when the network or everyone has reached a sign-up limit, counted from stored accounts
   * plus `pending()` sign-ups of this process still on their way to being stored (from this
   * network, and from everywhere). Run one at a time with the inserts (`oneAtATime`), so that no
   * sign-up is stored while it counts: each one is then either in the table or pending, once.
   */
  async checkSignupLimits(
    network: string,
    now: number,
    pending: () => { readonly network: number; readonly all: number } = () => ({ network: 0, all: 0 }),
  ): Promise<void> {
    const { perNetworkPerHour, perNetworkPerDay, perHour } = this.config.signup;
    // Each limit's pending count is read after its own stored count.
    const over = async (stored: Promise<number>, which: "network" | "all", limit: number) =>
      (await stored) + pending()[which] >= limit;
    const limited =
      (await over(this.store.signupsFrom(network, now - HOUR_MS), "network", perNetworkPerHour)) ||
      (await over(this.store.signupsFrom(network, now - 24 * HOUR_MS), "network", perNetworkPerDay)) ||
      (await over(this.store.signupsSince(now - HOUR_MS), "all", perHour));
    if (limited) throw refuse("SIGNUP_LIMITED");
  }

  private checkPassword(password: string, email: string): void {
    const min = this.config.signup.minPasswordLength;
    if (password.length < min)
      throw refuse(
        "WEAK_PASSWORD",
        `Use at least ${min} characters (a few words make a good one).`,
        "password",
      );
    if (password.length > 1024) throw refuse("WEAK_PASSWORD", "Use at most 1024 characters.", "password");
    const lower = password.toLowerCase();
    if (COMMON.has(lower) || lower === email || new Set(lower).size < 4)
      throw refuse("WEAK_PASSWORD", "This password is too easy to guess. Pick another one.", "password");
  }

  /** Creates an account and its application; returns the user. */
  async signup(input: SignupInput): Promise<PortalUser> {
    if (!this.config.signup.enabled) throw refuse("SIGNUP_CLOSED");
    const email = input.email.trim().toLowerCase();
    if (!Email.safeParse(email).success)
      throw refuse("INVALID_REQUEST", "Enter an e-mail address like you@example.com.", "email");
    this.checkPassword(input.password, email);
    // Sign-ups of this process still on their way count against the limits, so a burst sent at
    // once costs no more password hashes than the limits allow accounts. Only those that came
    // before this one count (each takes its ticket before anything is awaited): a burst's first
    // sign-ups go on, its later ones are refused, never the other way round.
    const ticket = this.nextTicket++;
    const network = `n:${input.network}`;
    this.signupsPending.set(ticket, network);
    try {
      // Counted in turn with the inserts: a count read before another sign-up's insert and
      // answered after it (another connection, a busy database) would find that sign-up neither
      // stored nor pending, and let one more password be hashed past the limit. Only the counts
      // wait for each other; the hashes below still run side by side.
      await this.oneAtATime(() =>
        this.checkSignupLimits(input.network, this.now(), () => this.pendingBefore(ticket, network)),
      );
      await this.refuseTakenEmail(email, input.network);
      const passwordHash = await hashPassword(input.password, this.config.passwordHash);
      // Checked again after the (slow) hash, one sign-up at a time with the inserts: concurrent
      // sign-ups from one network (on any replica) cannot all slip under the limit.
      return await this.oneAtATime(() => this.createAccount(input, email, passwordHash, ticket));
    } finally {
      this.signupsPending.delete(ticket);
    }
  }

  /** Sign-ups of this process not yet stored nor refused: each one's ticket and network subject. */
  private readonly signupsPending = new Map<number, string>();
  private nextTicket = 0;

  /** The sign-ups pending that came before `ticket`: from `network`, and from everywhere. */
  private pendingBefore(ticket: number, network: string): { network: number; all: number } {
    let fromNetwork = 0;
    let all = 0;
    for (const [other, subject] of this.signupsPending) {
      if (other >= ticket) continue;
      all += 1;
      if (subject === network) fromNetwork += 1;
    }
    return { network: fromNetwork, all };
  }

  private signupQueue: Promise<unknown> = Promise.resolve();
  private oneAtATime<A>(f: () => Promise<A>): Promise<A> {
    const next = this.signupQueue.then(f);
    this.signupQueue = next.catch(() => undefined);
    return next;
  }

  private async createAccount(
    input: SignupInput,
    email: string,
    passwordHash: string,
    ticket: number,
  ): Promise<PortalUser> {
    const now = this.now();
    await this.checkSignupLimits(input.network, now);
    if ((await this.store.userByEmail(email)) !== undefined) throw refuse("EMAIL_TAKEN", undefined, "email");
    const app = await Runtime.runPromise(this.runtime)(
      Effect.flatMap(Accounts, (accounts) => accounts.createApplication({ name: email })),
    );
    const user: PortalUser = {
      id: `usr_${randomBase62(16)}`,
      email,
      passwordHash,
      role: this.isListedAdmin(email) ? "admin" : "customer",
      applicationId: app.id,
      signupNetwork: input.network,
      createdAt: now,
      lastLoginAt: now,
    };
    await this.store.insertUser(user);
    // Stored: counted from the table from now on, no longer as pending.
    this.signupsPending.delete(ticket);
    return user;
  }

  /** Log-in attempts of this process still being checked, per subject (`n:` network, `e:` address). */
  private readonly attempts = new Map<string, number>();

  /**
   * Counts an attempt for each subject until `release` (the first call; later ones do nothing):
   * taken at once, before anything is awaited, so that a burst of guesses sent together finds the
   * ones before it in flight.
   */
  private holdAttempt(subjects: readonly string[], held: Map<string, number> = this.attempts): () => void {
    for (const s of subjects) held.set(s, (held.get(s) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const s of subjects) {
        const left = (held.get(s) ?? 1) - 1;
        if (left === 0) held.delete(s);
        else held.set(s, left);
      }
    };
  }

  /**
   * Checks the password; returns the user. Failures are limited per network, on every account
   * (`login.failuresPer15Min`), and per account from every network together
   * (`login.accountFailuresPer15Min`, higher): guesses from one network lock that network out,
   * not the account's owner elsewhere, and guesses spread over many networks still stop.
   */
  async login(emailInput: string, password: string, network: string): Promise<PortalUser> {
    const email = emailInput.trim().toLowerCase();
    const { failuresPer15Min, accountFailuresPer15Min } = this.config.login;
    const limits = new Map([
      [`n:${network}`, failuresPer15Min],
      [`e:${email}`, accountFailuresPer15Min],
    ]);
    const release = this.holdAttempt([...limits.keys()]);
    try {
      return await this.checkLogin(email, password, limits, release);
    } finally {
      release();
    }
  }

  /** The tail of each log-in subject's turns (see `inTurn`); absent when none is waiting. */
  private readonly loginTurns = new Map<string, Promise<void>>();

  /**
   * Runs `f` once every earlier turn of any of `subjects` is over; turns of other subjects go on
   * meanwhile. Every turn is queued at once, before anything is awaited, so none waits for a later one.
   */
  private async inTurn<A>(subjects: readonly string[], f: () => Promise<A>): Promise<A> {
    const before = subjects.map((s) => this.loginTurns.get(s));
    let over: () => void = () => undefined;
    const turn = new Promise<void>((resolve) => {
      over = resolve;
    });
    for (const s of subjects) this.loginTurns.set(s, turn);
    try {
      await Promise.all(before);
      return await f();
    } finally {
      over();
      for (const s of subjects) if (this.loginTurns.get(s) === turn) this.loginTurns.delete(s);
    }
  }

  /**
   * Refuses (`LOGIN_LIMITED`, or `limited` when given) when a subject has reached its limit of
   * failures. Failures are counted in the database, so every replica sees the same ones; attempts
   * still being checked here (`holdAttempt`) count as failures until they are decided (their
   * password checks take tens of milliseconds, and a guess sent alongside must not pass before they
   * are recorded). The counts take turns with the recording of failures of the same subjects: a
   * failure recorded during a count would be found both in the table and in flight, and refuse an
   * attempt within the limit.
   */
  private async refuseOverFailureLimits(
    limits: ReadonlyMap<string, number>,
    limited?: string,
  ): Promise<void> {
    const since = this.now() - LOGIN_WINDOW_MS;
    await this.inTurn([...limits.keys()], async () => {
      for (const [subject, limit] of limits) {
        const failures = await this.store.loginFailures(subject, since);
        if (failures + (this.attempts.get(subject) ?? 1) - 1 >= limit) throw refuse("LOGIN_LIMITED", limited);
      }
    });
  }

  /** Records a failure of each subject, then releases their attempt (counted from the table from now on). */
  private async recordFailure(subjects: readonly string[], release: () => void): Promise<void> {
    const now = this.now();
    await this.inTurn(subjects, async () => {
      await this.store.recordLoginFailure(subjects, now, now - LOGIN_WINDOW_MS);
      release();
    });
  }

  /**
   * Refuses a sign-up for an address that has an account (`EMAIL_TAKEN`). That answer says what a
   * failed log-in would, that the address has an account, so it counts as a failed log-in of the
   * network, and a network at `login.failuresPer15Min` gets no answer (`LOGIN_LIMITED`): the
   * sign-up form is no way round the log-in limit for learning which addresses have accounts.
   */
  private async refuseTakenEmail(email: string, network: string): Promise<void> {
    const subject = `n:${network}`;
    const release = this.holdAttempt([subject]);
    try {
      await this.refuseOverFailureLimits(
        new Map([[subject, this.config.login.failuresPer15Min]]),
        "Too many sign-ups with taken addresses or failed log-ins from your network. Wait 15 minutes, then retry.",
      );
      if ((await this.store.userByEmail(email)) === undefined) return;
      await this.recordFailure([subject], release);
      throw refuse("EMAIL_TAKEN", undefined, "email");
    } finally {
      release();
    }
  }

  private async checkLogin(
    email: string,
    password: string,
    limits: ReadonlyMap<string, number>,
    release: () => void,
  ): Promise<PortalUser> {
    await this.refuseOverFailureLimits(limits);
    const user = await this.store.userByEmail(email);
    this.dummyHash ??= hashPassword(randomBytes(16).toString("hex"), this.config.passwordHash);
    const ok = await verifyPassword(password.slice(0, 1024), user?.passwordHash ?? (await this.dummyHash));
    const now = this.now();
    if (user === undefined || !ok) {
      await this.recordFailure([...limits.keys()], release);
      throw refuse("LOGIN_FAILED");
    }
    // The owner is in: the account's failures are forgotten (the network's stay).
    await this.store.clearLoginFailures(`e:${email}`);
    // Only over the hash just checked: a password changed meanwhile stays changed.
    if (needsRehash(user.passwordHash, this.config.passwordHash))
      await this.store.replacePasswordHash(
        user.id,
        user.passwordHash,
        await hashPassword(password, this.config.passwordHash),
      );
    if (user.role !== "admin" && this.isListedAdmin(email)) await this.store.setRole(email, "admin");
    await this.store.touchLogin(user.id, now);
    return (await this.store.userById(user.id)) ?? user;
  }

  /**
   * Opens a session for the user; returns the id the cookie carries (only its hash is stored).
   * Refuses (`LOGIN_FAILED`) when the password changed since `user` was read: the password just
   * checked no longer opens the account.
   */
  async openSession(user: PortalUser): Promise<string> {
    const id = newSessionId();
    const now = this.now();
    await this.store.deleteExpiredSessions(now);
    const opened = await this.store.insertSession(
      id,
      user.id,
      user.passwordHash,
      now,
      this.config.sessionHours * HOUR_MS,
    );
    if (!opened) throw refuse("LOGIN_FAILED");
    return id;
  }

  /**
   * Changes the password of a logged-in user: the current one must be right (`WRONG_PASSWORD`; a
   * wrong one counts as a failed log-in of the network and the account, and at their limits the
   * change answers `LOGIN_LIMITED`, so a session is no way round the log-in limits), the new one
   * passes the sign-up rules (`WEAK_PASSWORD`). Every session of the account ends, and a fresh one
   * replaces the caller's: returns its id.
   */
  async changePassword(
    user: PortalUser,
    input: { readonly current: string; readonly next: string; readonly network: string },
  ): Promise<string> {
    this.checkPassword(input.next, user.email);
    const { failuresPer15Min, accountFailuresPer15Min } = this.config.login;
    const limits = new Map([
      [`n:${input.network}`, failuresPer15Min],
      [`e:${user.email}`, accountFailuresPer15Min],
    ]);
    const release = this.holdAttempt([...limits.keys()]);
    try {
      await this.refuseOverFailureLimits(limits);
      const stored = (await this.store.userById(user.id))?.passwordHash;
      const ok = stored !== undefined && (await verifyPassword(input.current.slice(0, 1024), stored));
      if (stored === undefined || !ok) {
        await this.recordFailure([...limits.keys()], release);
        throw refuse("WRONG_PASSWORD", undefined, "current");
      }
      await this.store.clearLoginFailures(`e:${user.email}`);
      const sessionId = newSessionId();
      const changed = await this.store.changePassword(
        {
          userId: user.id,
          expected: stored,
          passwordHash: await hashPassword(input.next, this.config.passwordHash),
          sessionId,
        },
        this.now(),
        this.config.sessionHours * HOUR_MS,
      );
      // Another change got there first: the password checked is no longer the account's.
      if (!changed) throw refuse("WRONG_PASSWORD", undefined, "current");
      return sessionId;
    } finally {
      release();
    }
  }

  /** Ends every session of the user but `sessionId` ("sign out everywhere else"); how many ended. */
  async endOtherSessions(user: PortalUser, sessionId: string): Promise<number> {
    return this.store.deleteOtherSessions(user.id, sessionId);
  }

  /** How many other live sessions the user has (other browsers, devices). */
  async otherSessions(user: PortalUser, sessionId: string): Promise<number> {
    return this.store.otherSessions(user.id, sessionId, this.now());
  }

  async sessionUser(sessionId: string | undefined): Promise<PortalUser | undefined> {
    if (sessionId === undefined || !/^[A-Za-z0-9_-]{43}$/.test(sessionId)) return undefined;
    return this.store.sessionUser(sessionId, this.now());
  }

  async closeSession(sessionId: string): Promise<void> {
    await this.store.deleteSession(sessionId);
  }
}
