// Loaded with `node --import` after tsx: importing the gateway app, the runtime or Effect fails, so a
// test shows that a command is answered without loading them.
import { register } from "node:module";

const hooks = `
export async function resolve(specifier, context, next) {
  if (/(^|\\/)app\\/gateway-app\\.js$|^@pocket-ai\\/runtime$|^effect$/.test(specifier))
    throw new Error("this test refuses to load " + specifier);
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
