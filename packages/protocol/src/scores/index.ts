export { EVALUATOR_PROCEDURES, NodeScore, Scoreboard, ScoreEstimate } from "./scoreboard.js";
