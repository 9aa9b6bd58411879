"use strict";
// What both of a node's pages use: HTML escaping, and a JSON GET that throws the answer's error.
const esc = (t) => String(t ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const get = async (path) => { const r = await fetch(path); const body = await r.json(); if (!r.ok) throw new Error(body.error); return body; };
