/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** A tile URL template (https://…/{z}/{x}/{y}.png); unset = the offline grid only. */
  readonly VITE_SG_TILE_URL?: string;
  readonly VITE_SG_TILE_ATTRIBUTION?: string;
}
