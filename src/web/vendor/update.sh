#!/usr/bin/env bash
# Refreshes the vendored dashboard libraries from npm, pinned by package-lock.json.
# To move to a new version: change it in package.json, run `npm install --package-lock-only
# --ignore-scripts` here, then this script; commit package.json, package-lock.json and the
# copied files together. Nothing is fetched at build or run time: the binary embeds the copies.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --ignore-scripts --no-audit --no-fund
cp node_modules/uplot/dist/uPlot.iife.min.js uPlot.iife.min.js
cp node_modules/uplot/dist/uPlot.min.css uPlot.min.css
cp node_modules/uplot/LICENSE uPlot.LICENSE
rm -rf node_modules
echo "vendored: uplot $(node -p 'require("./package-lock.json").packages["node_modules/uplot"].version')"
