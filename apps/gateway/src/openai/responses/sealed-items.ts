import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { fail, ok, type Result } from "@pocket-ai/protocol";

/** The prefix of a message item id that carries its own text. */
export const SEALED_MESSAGE_PREFIX = "msg_pk1";

/** The longest answer text sealed into an id (UTF-8 bytes); a longer one gets a plain id. */
export const MAX_SEALED_TEXT_BYTES = 32 * 1024;

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The longest id an `item_reference` may name: a sealed id of the longest sealed text. */
export const MAX_ITEM_ID_CHARS =
  SEALED_MESSAGE_PREFIX.length + Math.ceil(((IV_BYTES + MAX_SEALED_TEXT_BYTES + TAG_BYTES) * 4) / 3);

const KEY_INFO = "pocket-ai gateway: responses message item ids v1";

/**
 * Message item ids that carry the item's text, so `item_reference` works while the gateway keeps
 * nothing. A `/v1/responses` answer's message item id is `msg_pk1` + base64url(iv ‖ AES-256-GCM
 * ciphertext of the text ‖ tag), under a key derived (HKDF-SHA256) from the gateway's private key,
 * with the calling application's id as associated data: only this gateway (or a replica sharing
 * its key) can read an id, only for the application it answered, and any change to an id is
 * caught. The text is never written anywhere: it travels in the id, which the client holds.
 *
 * A reply is sealed only when its text is known as the item id is sent, which is the unary answer;
 * a streamed item's id is announced before its first word, so its text is kept the other way
 * (`streamed-items.ts`).
 */
export class MessageItemSeal {
  private readonly key: Buffer;

  constructor(gatewayPrivateKey: Uint8Array) {
    this.key = Buffer.from(hkdfSync("sha256", gatewayPrivateKey, Buffer.alloc(0), KEY_INFO, 32));
  }

  /** The id of a message item holding `text` for `applicationId`; a plain id when the text is too long. */
  seal(text: string, applicationId: string): string {
    const plain = Buffer.from(text, "utf8");
    if (plain.length > MAX_SEALED_TEXT_BYTES) return plainMessageId();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(applicationId, "utf8"));
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return `${SEALED_MESSAGE_PREFIX}${sealed.toString("base64url")}`;
  }

  /**
   * The text an `item_reference` id carries. An id of the sealed form that does not open (changed,
   * made by another gateway, or for another application) is `INVALID_ITEM_REFERENCE`; any other id
   * (a streamed item's, or one from another provider) points at stored state: `RESPONSE_NOT_STORED`.
   */
  open(id: string, applicationId: string, param: string): Result<string> {
    if (id.length > MAX_ITEM_ID_CHARS) {
      return fail("INVALID_ITEM_REFERENCE", `the id is longer than ${MAX_ITEM_ID_CHARS} characters`, param);
    }
    if (!id.startsWith(SEALED_MESSAGE_PREFIX)) {
      return fail(
        "RESPONSE_NOT_STORED",
        "this item's text is not in its id and the gateway kept none for it (a streamed answer asked with store: false, or an id from elsewhere): send the item itself (an assistant message with its text); with the Vercel AI SDK set providerOptions.openai.store to false",
        param,
      );
    }
    const sealed = Buffer.from(id.slice(SEALED_MESSAGE_PREFIX.length), "base64url");
    if (sealed.length < IV_BYTES + TAG_BYTES) return notIssued(param);
    const decipher = createDecipheriv("aes-256-gcm", this.key, sealed.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(applicationId, "utf8"));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return ok(plain.toString("utf8"));
    } catch {
      return notIssued(param);
    }
  }
}

const notIssued = (param: string) =>
  fail<string>(
    "INVALID_ITEM_REFERENCE",
    "this id was not issued by this gateway to this application, or was changed",
    param,
  );

/** A message item id that carries nothing (streamed answers asked with `store: false`). */
export const plainMessageId = () => `msg_${randomBytes(16).toString("hex")}`;
