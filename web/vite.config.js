import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// The dashboard calls POST /rpc/<function> on its own origin. In development, `npm run dev`
// proxies /rpc to a running local server or PostgREST (LTV_DEV_API, default the local server).
export default defineConfig({
  plugins: [react(), tailwindcss()],
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: { '/rpc': process.env.LTV_DEV_API || 'http://127.0.0.1:8080' },
  },
});
