/**
 * `@pocket-ai/link`: the link between Pocket AI apps. The one tRPC instance and error envelope,
 * the map from protocol codes to tRPC codes, the decoder for clients, the procedure runner, and
 * the contracts each app implements (node relay, gateway's node-facing API, evaluator's
 * scoreboard) with a typed client for each.
 */

export {
  answerBodiesBusy,
  type BodiesBusyCode,
  bodiesBusyError,
  budgetedCalls,
} from "./body-budget-refusal.js";
export { httpStatusOf, trpcCodeOf } from "./error-status.js";
export {
  type AnnounceSource,
  type GatewayClient,
  type GatewayNodeApi,
  type GatewayNodeRouter,
  makeGatewayClient,
  makeGatewayNodeRouter,
} from "./gateway-contract.js";
export {
  type CutSettled,
  type LinkFetch,
  makeNodeClient,
  makeNodeRouter,
  type NodeClient,
  type NodeHealth,
  type NodeInfo,
  type NodeRelayApi,
  type NodeRouter,
  type RelayChunks,
} from "./node-contract.js";
export {
  makeNodeRelayClient,
  type NodeRelayCallOptions,
  type NodeRelayClient,
} from "./node-relay-caller.js";
export { makeNodeRelayHandler, type NodeRelayHandler } from "./node-relay-server.js";
export {
  type CodedFailure,
  codeOfFailure,
  detailOfFailure,
  isCodedAnswer,
  isErrorCode,
  pocketCodeOf,
  pocketDetailOf,
} from "./pocket-code.js";
export {
  frameOf,
  InternalFailure,
  internalFailureOf,
  linkErrorOf,
  logUncodedFailures,
  runInContext,
  runProcedure,
  runtimeOf,
  streamInContext,
} from "./run-procedure.js";
export {
  makeScoreboardClient,
  makeScoreboardRouter,
  type ScoreboardApi,
  type ScoreboardRouter,
} from "./scoreboard-contract.js";
export {
  bearerTokenOf,
  contextFromRequest,
  createCallerFactory,
  type LinkContext,
  type LinkErrorData,
  mergeRouters,
  middleware,
  publicProcedure,
  router,
} from "./trpc.js";
