import { z } from "zod";

/**
 * Response of the image endpoints: when it was made and each image as base64 PNG. Nodes always
 * return `b64_json`; a gateway that offers `response_format: "url"` stores the image and adds `url`.
 *
 * @example
 * ```ts
 * ImagesResponse.parse({ created: 1_700_000_000, data: [{ b64_json: "iVBORw0KGgo..." }] });
 * ```
 */
export const ImagesResponse = z.looseObject({
  created: z.number().int().nonnegative(),
  data: z.array(
    z.looseObject({
      b64_json: z.string(),
      revised_prompt: z.string().nullish(),
      url: z.string().nullish(),
    }),
  ),
});

/** A parsed {@link ImagesResponse}. */
export type ImagesResponse = z.infer<typeof ImagesResponse>;
