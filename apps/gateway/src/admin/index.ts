export { AdminAuth, AdminUnauthorized } from "./admin-auth.js";
export { type AdminRouter, adminRouter } from "./admin-router.js";
