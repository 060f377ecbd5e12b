import { defineConfig } from 'vite';

// The backend serves dist/ at `/` and the API same-origin under `/api`; during
// `npm run dev` the API is proxied to a locally running `artsearch serve`.
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8000',
      '/media': 'http://127.0.0.1:8000',
    },
  },
});
