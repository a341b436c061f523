export { EVALUATOR_PROCEDURES, ImageFindings, NodeScore, Scoreboard, ScoreEstimate } from "./scoreboard.js";
