export { makePortalAdminRouter } from "./portal-admin-router.js";
export { makePortal, type PortalDeps } from "./portal-app.js";
export { PortalConfig } from "./portal-config.js";
export { mountPortal } from "./portal-mount.js";
