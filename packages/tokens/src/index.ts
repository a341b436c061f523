export {
  type DeliveredBounds,
  DeliveredText,
  generatedJson,
  type OutputBounds,
  outputBounds,
} from "./delivered-text.js";
export {
  type FamilyTokenizer,
  familyTokenizer,
  familyTokenizerReady,
  prepareFamilyTokenizers,
  type TokenizerFamily,
  tokenizerFamilyOf,
} from "./family-tokenizer.js";
