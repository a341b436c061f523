export { BudgetExhausted, RateLimited } from "./errors.js";
export {
  type KeyUsage,
  type LimitedKey,
  Limits,
  type Reservation,
  type ReservationAmount,
} from "./limits.js";
export { reservationFor } from "./reservation-estimate.js";
