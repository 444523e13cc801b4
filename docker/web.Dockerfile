# The dashboard: built with node, served by nginx, which proxies /rpc/ to PostgREST.
# Build from the repository root:
#   docker build -f docker/web.Dockerfile -t retail-ltv-web .

FROM node:20-bookworm-slim AS build
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/index.html web/vite.config.js ./
COPY web/src ./src
COPY web/public ./public
RUN npx vite build

FROM nginx:1.27-bookworm
COPY docker/nginx.conf /etc/nginx/conf.d/default.conf
COPY --from=build /web/dist /usr/share/nginx/html
