export {
  EVALUATOR_PROCEDURES,
  ImageFindings,
  NodeScore,
  NodeScoreForReaders,
  Scoreboard,
  ScoreboardForReaders,
  ScoreEstimate,
} from "./scoreboard.js";
