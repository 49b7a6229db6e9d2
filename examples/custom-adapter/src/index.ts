export { MapAdapter } from "./map-adapter.js";
