/** Shown wherever the node reports its backend, so nobody mistakes this engine for a real model. */
export const DEV_BACKEND_LABEL = "pocket-ai development backend (statistical n-gram model, not a neural LLM)";
