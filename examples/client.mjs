#!/usr/bin/env node
// A partner client in JavaScript (Node 18+, no dependencies): one purchase through the
// S-360 SOAP API with hand-written envelopes and fetch, following the integration rules
// like examples/reference_client.py. The contract harness checks it:
//
//   s360-mock contract client --cmd 'node examples/client.mjs'
//
// Environment: S360_URL, S360_USER, S360_PASSWORD, S360_PERFORMANCE_ID, S360_QUANTITY,
// S360_TIME_SPEED (divide every wait by it; 1 in production). Exit 0 only if the tickets
// were issued.

const env = process.env;
const BASE = (env.S360_URL || "http://127.0.0.1:8360").replace(/\/$/, "");
const USER = env.S360_USER || "DEMO_PARTNER1";
const PASSWORD = env.S360_PASSWORD || "partner1-secret";
const PERFORMANCE = Number(env.S360_PERFORMANCE_ID || "10003");
const QUANTITY = Number(env.S360_QUANTITY || "2");
const SPEED = Number(env.S360_TIME_SPEED || "1");
const ATTEMPTS = 4;

const SERVICES = {
  CatalogService: "tnseb/external-remoting/com.secutix.service.realtime.catalog.v1_33.CatalogService.webservice",
  AvailabilityService: "tnseb/external-remoting/com.secutix.service.realtime.availability.v1_33.AvailabilityService.webservice",
  ExternalOrderFacade: "tnseb/external-remoting/com.secutix.service.realtime.externalorder.v1_33.ExternalOrderFacade.webservice",
  ExternalOrderService: "tnseb/external-remoting/com.secutix.service.realtime.externalorder.v1_33.ExternalOrderService.webservice",
};
const AVAILABILITY = new Set(["getPerformanceAvailability"]);

class PurchaseFailed extends Error {}

const sleep = (seconds) => new Promise((r) => setTimeout(r, (seconds * 1000) / SPEED));
const log = (message) => process.stderr.write(`${message}\n`);
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");
const text = (xml, name) => {
  const m = xml.match(new RegExp(`<${name}>([^<]*)</${name}>`));
  return m ? m[1] : null;
};
const blocks = (xml, name) => xml.match(new RegExp(`<${name}>[\\s\\S]*?</${name}>`, "g")) || [];

function envelope(service, op, body) {
  return (
    `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ` +
    `xmlns:v="http://v1_33.${service}.service.secutix.com"><soapenv:Header>` +
    `<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">` +
    `<wsse:UsernameToken><wsse:Username>${esc(USER)}</wsse:Username>` +
    `<wsse:Password>${esc(PASSWORD)}</wsse:Password></wsse:UsernameToken></wsse:Security>` +
    `</soapenv:Header><soapenv:Body><v:${op}>${body}</v:${op}></soapenv:Body></soapenv:Envelope>`
  );
}

// One call with the platform's etiquette: Retry-After (R6), safe retries of lost replies,
// in_progress answered by calling again with its requestId.
async function call(service, op, body = "") {
  let attempt = 0;
  let waits = 0;
  let requestId = null;
  while (attempt < ATTEMPTS && waits < 2 * ATTEMPTS) {
    let problem;
    try {
      const payload = (requestId ? `<requestId>${esc(requestId)}</requestId>` : "") + body;
      const reply = await fetch(`${BASE}/${SERVICES[service]}`, {
        method: "POST",
        headers: { "Content-Type": "text/xml; charset=utf-8", SOAPAction: '""' },
        body: envelope(service, op, payload),
      });
      const xml = await reply.text();
      if (reply.status === 429 || reply.status === 509) {
        const wait = Number(reply.headers.get("retry-after") || text(xml, "retryAfterSeconds") || 60);
        waits += 1;
        log(`${op}: rate limited, waiting ${wait} s`);
        await sleep(wait + 1);
        continue;
      }
      if (reply.status === 200) {
        const status = text(xml, "statusCode");
        if (status !== "in_progress") return { status, xml };
        requestId = text(xml, "requestId");
        problem = "in_progress";
      } else {
        const code = text(xml, "faultcode") || `HTTP ${reply.status}`;
        if (!/Server/.test(code)) throw new PurchaseFailed(`${op}: fault ${code}`);
        problem = code;
      }
    } catch (error) {
      if (error instanceof PurchaseFailed) throw error;
      problem = `${error.name}: ${error.message}`; // a lost reply: retrying is safe
    }
    attempt += 1;
    log(`${op}: ${problem}; retrying`);
    await sleep(AVAILABILITY.has(op) ? 60 : 2 ** attempt);
  }
  throw new PurchaseFailed(`${op}: gave up`);
}

async function ok(service, op, body) {
  const r = await call(service, op, body);
  if (r.status !== "success") throw new PurchaseFailed(`${op}: ${r.status}`);
  return r.xml;
}

async function purchase() {
  // R4: the point of sales and its pending-account payment method, before any order.
  const pos = await ok("CatalogService", "getPOSConfig");
  const posId = text(pos, "posId");
  const pending = blocks(pos, "paymentMethods").find((m) => text(m, "paymentType") === "PENDING_ACCOUNT");
  if (!pending) throw new PurchaseFailed("no PENDING_ACCOUNT payment method");
  const paymentMethodId = text(pending, "id");

  // R1: the catalog once (a long-running client would keep it until lastUpdate moves).
  await ok("CatalogService", "getLastSetupUpdate");
  const catalog = await ok("CatalogService", "getCatalogDetailed");
  const full = new Set(
    blocks(catalog, "audienceSubCategories").filter((a) => text(a, "kind") === "FULL").map((a) => text(a, "id")),
  );
  const perf = blocks(catalog, "performances").find((p) => text(p, "id") === String(PERFORMANCE));
  if (!perf) throw new PurchaseFailed(`performance ${PERFORMANCE} is not in the catalog`);
  const prices = blocks(perf, "prices").map((p) => ({
    category: text(p, "seatCatId"),
    tariff: text(p, "audSubCatId"),
    amount: Number(text(p, "amount")),
  }));

  // R3: availability right before ordering (R2: once).
  const av = await ok(
    "AvailabilityService",
    "getPerformanceAvailability",
    `<pointOfSalesId>${posId}</pointOfSalesId><performanceIds>${PERFORMANCE}</performanceIds><seatCategoryIds>-1</seatCategoryIds>`,
  );
  const level = text(av, "availabilityLevel");
  if (level === "SOLD_OUT" || level === "NOT_ON_SALE") throw new PurchaseFailed(`performance is ${level}`);
  let choice = null;
  for (const c of blocks(av, "seatCategoryAvailabilities")) {
    if (Number(text(c, "available")) < QUANTITY) continue;
    const price = prices.find((p) => p.category === text(c, "seatCategoryId") && full.has(p.tariff));
    if (price) {
      choice = price;
      break;
    }
  }
  if (!choice) throw new PurchaseFailed(`no seat category with ${QUANTITY} free places`);

  // R8: the externalReference names the purchase, so a retried create returns the same order.
  const reference = `JS-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  const order = await ok(
    "ExternalOrderFacade",
    "createOrUpdateOrder",
    `<pointOfSalesId>${posId}</pointOfSalesId><orderType>SALE</orderType>` +
      `<externalReference>${reference}</externalReference><singleEntryAttributionOperations>` +
      `<operationAttributions><performanceId>${PERFORMANCE}</performanceId>` +
      `<seatCategoryId>${choice.category}</seatCategoryId><audienceSubCategoryId>${choice.tariff}</audienceSubCategoryId>` +
      `<quantity>${QUANTITY}</quantity></operationAttributions></singleEntryAttributionOperations>`,
  );
  const orderId = text(order, "orderId");
  const total = Number(text(order, "totalAmount"));
  try {
    if (total !== choice.amount * QUANTITY) throw new PurchaseFailed(`total ${total}, expected ${choice.amount * QUANTITY}`);
    // R7: close with the order's total, on the pending account.
    const closed = await ok(
      "ExternalOrderService",
      "closeOrder",
      `<orderId>${orderId}</orderId><generateBarCodes>true</generateBarCodes>` +
        `<payments><paymentMethodId>${paymentMethodId}</paymentMethodId><amount>${total}</amount></payments>` +
        `<totalAmount>${total}</totalAmount>`,
    );
    const barcodes = blocks(closed, "barcode").map((b) => text(b, "barcode"));
    if (text(closed, "orderState") !== "CLOSED" || barcodes.length !== QUANTITY) {
      throw new PurchaseFailed(`closeOrder: ${text(closed, "orderState")}, ${barcodes.length} barcodes`);
    }
    return barcodes;
  } catch (error) {
    // R5: never leave a hold behind (an expired order has none).
    if (!String(error.message).includes("error.order.expired")) {
      await call("ExternalOrderService", "cancelOperations", `<orderId>${orderId}</orderId>`).catch((e) =>
        log(`cancel failed: ${e.message}`),
      );
    }
    throw error;
  }
}

try {
  const barcodes = await purchase();
  log(`tickets issued: ${barcodes.join(", ")}`);
  process.exit(0);
} catch (error) {
  log(`purchase failed: ${error.message}`);
  process.exit(1);
}
