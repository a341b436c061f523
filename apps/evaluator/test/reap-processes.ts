import { afterAll } from "vitest";
import { reapTestProcesses } from "./evaluator-process.js";

// A setup file: runs before every test file, so each file's CLI processes and folders go with it.
afterAll(reapTestProcesses);
