// A Fedify-based ActivityPub peer for Nabuur's interoperability tests.
//
// One actor, http://127.0.0.1:PEER_PORT/users/alice, served by Fedify (an independent
// ActivityPub implementation).  Everything Fedify's inbox verified is recorded in memory,
// and a small JSON control API under /control/ lets the Python tests make alice act:
//
//   GET  /control/health                      -> {"ok": true, "actor": actorUrl}
//   GET  /control/inbox                       -> {"activities": [...]}
//   GET  /control/outgoing                    -> {"requests": [...]} (every HTTP request sent)
//   POST /control/reset                       -> clears both lists and Fedify's per-origin
//                                                memory of the accepted signature profile
//   POST /control/follow   {"target"}         -> Follow      {"id", "delivered", ...}
//   POST /control/unfollow {"target"}         -> Undo(Follow)
//   POST /control/reply    {"inReplyTo", "to", "content"} -> Create(Note) {"id", "noteId", ...}
//   POST /control/like     {"object", "to"}   -> Like
//   POST /control/update   {"object", "to", "content"} -> Update(Note) {"id", "noteId", ...}
//                          "object" is a note made by /control/reply; it is served with the
//                          new content (and "updated") from then on
//   POST /control/delete   {"object", "to"}   -> Delete(Tombstone) {"id", "noteId", ...}
//                          the Tombstone has the note's id and formerType Note; from then on
//                          GET of the note answers 410 Gone with that Tombstone as its body.
//                          An unknown note (not made by /control/reply) is an error.
//   POST /control/send     {"to", "activity"} -> any activity, given as JSON-LD, parsed with
//                          Activity.fromJsonLd (the ActivityStreams @context is added when
//                          there is none; an id is assigned when there is none) and sent as
//                          is, signed with alice's keys even when its actor is not alice (the
//                          "signer is not the actor" case).  Fedify re-serialises what it
//                          parsed, so properties it does not know are dropped.  Answers
//                          {"id", "activity" (as parsed), ...}; when Fedify refuses to send
//                          it (e.g. no actor), the error says "Fedify refused to send ...".
//   POST /control/poll     {"activity"}       -> the activity (JSON-LD, e.g. the "raw" of a received
//                          one) parsed by Fedify, its object read as a Question (a poll):
//                          {"type", "id", "multiple", "options": [{"name", "totalItems"}],
//                           "voters", "endTime", "closed"}; an object that is not a Question
//                          is an error
//   POST /control/fetch    {"url", "signed"}  -> GET of the URL (ActivityStreams), signed with
//                          alice's key when "signed" is true, else unsigned:
//                          {"status" (of the last try), "profiles" (signature of each try),
//                           "document" (the JSON when 2xx, else null)}
//
// Update/Delete/Like/Follow/... and Create are addressed to the target actor ("to") with the
// Public collection in "cc" where Mastodon does the same (Create, Update, Delete).
// Successful sends answer 200 with "delivered": true.  Any failure (lookup, delivery, bad
// input) answers 500 with {"error": message, ...} plus what was known so far (ids, the HTTP
// status of the failed delivery, the requests made); the process never exits on it.
// Sending goes through ctx.sendActivity(..., { immediate: true }), so Fedify signs with
// RFC 9421 first and retries with draft-cavage ("double knock") on a 4xx/5xx answer.
//
// Environment: PEER_PORT (required), PEER_FIRST_KNOCK ("rfc9421" by default, or
// "draft-cavage-http-signatures-12"), PEER_LOG_LEVEL (LogTape level for Fedify's own log on
// stderr, "warning" by default).

import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import http from "node:http";

import {
  createExponentialBackoffPolicy,
  createFederation,
  generateCryptoKeyPair,
  InProcessMessageQueue,
  MemoryKvStore,
} from "@fedify/fedify";
import {
  Accept,
  Activity,
  Announce,
  Create,
  Delete,
  Endpoints,
  Follow,
  isActor,
  Like,
  Mention,
  Note,
  Offer,
  Person,
  PUBLIC_COLLECTION,
  Question,
  Reject,
  Tombstone,
  Undo,
  Update,
} from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import { configure, getConsoleSink } from "@logtape/logtape";

const HOST = "127.0.0.1";
const PORT = Number.parseInt(process.env.PEER_PORT ?? "", 10);
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) {
  console.error("peer.mjs: set PEER_PORT to a free TCP port");
  process.exit(2);
}
const ORIGIN = `http://${HOST}:${PORT}`;
const IDENTIFIER = "alice";
const FIRST_KNOCK = process.env.PEER_FIRST_KNOCK || "rfc9421";
const SPEC_PREFIX = ["_fedify", "httpMessageSignaturesSpec"];
const MAX_BODY = 1024 * 1024;
const MAX_OUTGOING = 1000;

// --- per-request context -----------------------------------------------------------------
// Every incoming HTTP request and every control call runs inside its own store, so the
// LogTape sink and the fetch wrapper below can attach what they see to the right request.
const requestStore = new AsyncLocalStorage();

/** Which signature mechanisms an inbound request carried (headers and body). */
function describeSignatures(headers, json) {
  const hasInput = headers.has("signature-input");
  const hasSignature = headers.has("signature");
  let profile = null;
  if (hasInput && hasSignature) profile = "rfc9421";
  else if (hasSignature) profile = "draft-cavage";
  return {
    // The same rule Fedify's verifyRequest() uses to pick the HTTP signature profile.
    profile,
    signatureInput: hasInput,
    signature: hasSignature,
    digest: headers.has("digest"),
    contentDigest: headers.has("content-digest"),
    ldSignature: json != null && typeof json === "object" && "signature" in json,
    integrityProof: json != null && typeof json === "object" && "proof" in json,
    // Filled from Fedify's own debug log lines while it verifies the request:
    // "http-signature", "ld-signature" or "integrity-proof".
    verifiedBy: null,
  };
}

// --- logging -------------------------------------------------------------------------------
const VERIFIED_MESSAGES = new Map([
  ["HTTP Signatures are verified.", "http-signature"],
  ["Linked Data Signatures are verified.", "ld-signature"],
  ["Object Integrity Proofs are verified.", "integrity-proof"],
]);

function captureVerification(record) {
  const raw = typeof record.rawMessage === "string" ? record.rawMessage : "";
  const how = VERIFIED_MESSAGES.get(raw);
  const store = requestStore.getStore();
  if (how != null && store?.signature != null && store.signature.verifiedBy == null) {
    store.signature.verifiedBy = how;
  }
}

await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: { console: getConsoleSink(), capture: captureVerification },
  loggers: [
    {
      category: ["fedify", "federation", "inbox"],
      lowestLevel: "debug",
      sinks: ["capture"],
    },
    {
      category: ["fedify"],
      lowestLevel: process.env.PEER_LOG_LEVEL || "warning",
      sinks: ["console"],
    },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
  ],
});

// --- outgoing request log (wraps the global fetch that Fedify uses) ------------------------
const outgoing = [];
const realFetch = globalThis.fetch;

function outgoingProfile(headers) {
  if (headers.has("signature-input")) return "rfc9421";
  if (headers.has("signature")) return "draft-cavage";
  return null;
}

// Tests must only ever talk to this machine: anything but a loopback host is refused here,
// before any DNS lookup or connection (e.g. a remote @context or an actor on another host).
function isLoopback(url) {
  const host = url.hostname;
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

globalThis.fetch = async function recordingFetch(input, init) {
  const request = new Request(input, init);
  const entry = {
    method: request.method,
    url: request.url,
    profile: outgoingProfile(request.headers),
    status: null,
    error: null,
    at: new Date().toISOString(),
  };
  outgoing.push(entry);
  if (outgoing.length > MAX_OUTGOING) outgoing.shift();
  requestStore.getStore()?.requests?.push(entry);
  if (!isLoopback(new URL(request.url))) {
    entry.error = "refused: the peer only talks to loopback addresses";
    throw new TypeError(`${entry.error} (${request.url})`);
  }
  try {
    const response = await realFetch(request);
    entry.status = response.status;
    return response;
  } catch (error) {
    entry.error = String(error?.cause ?? error);
    throw error;
  }
};

// --- state ---------------------------------------------------------------------------------
const received = []; // verified inbound activities, in arrival order
const notes = new Map(); // note id -> Note
const deletedNotes = new Map(); // note URL -> Tombstone (served with 410 Gone)
const sentActivities = new Map(); // "<kind>/<id>" -> Activity (dereferenceable)
const following = new Map(); // target actor URL -> { followId, follow }
const followers = new Map(); // follower actor URL -> Recipient

// Fedify's generateCryptoKeyPair() makes 4096-bit RSA keys; the peer uses 2048 bits (what
// most fediverse servers, Nabuur included, use) with the same parameters otherwise.
const rsaKeyPair = await crypto.subtle.generateKey(
  {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
  true,
  ["sign", "verify"],
);
const ed25519KeyPair = await generateCryptoKeyPair("Ed25519");

// --- federation ----------------------------------------------------------------------------
const kv = new MemoryKvStore();
const federation = createFederation({
  kv,
  // Outgoing activities that the peer sends by itself (Accept) go through the queue; inbound
  // activities are processed while the sender's request is open, so an activity is recorded
  // by the time its delivery has been answered.
  queue: { outbox: new InProcessMessageQueue() },
  origin: ORIGIN,
  allowPrivateAddress: true,
  firstKnock: FIRST_KNOCK,
  circuitBreaker: false,
  outboxRetryPolicy: createExponentialBackoffPolicy({
    maxAttempts: 3,
    initialDelay: { seconds: 1 },
    maxDelay: { seconds: 5 },
  }),
  userAgent: { software: "NabuurFedifyPeer/0.0.0" },
  onOutboxError: (error, activity) => {
    console.error(`peer: queued delivery of ${activity?.id?.href} failed: ${error}`);
  },
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== IDENTIFIER) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Alice (Fedify peer)",
      summary: "An ActivityPub test peer built on Fedify.",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      followers: ctx.getFollowersUri(identifier),
      manuallyApprovesFollowers: false,
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((key) => key.multikey),
    });
  })
  .setKeyPairsDispatcher((_ctx, identifier) =>
    identifier === IDENTIFIER ? [rsaKeyPair, ed25519KeyPair] : []
  );

federation
  .setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
    if (identifier !== IDENTIFIER) return null;
    return { items: [...followers.values()] };
  })
  .setCounter((_ctx, identifier) => (identifier === IDENTIFIER ? followers.size : null));

federation.setObjectDispatcher(Note, "/notes/{id}", (_ctx, values) => notes.get(values.id) ?? null);

// Activities alice sent stay dereferenceable at /activities/<kind>/<id>.
const SENT_KINDS = [
  ["follow", Follow],
  ["undo", Undo],
  ["create", Create],
  ["like", Like],
  ["accept", Accept],
  ["update", Update],
  ["delete", Delete],
];
for (const [kind, cls] of SENT_KINDS) {
  federation.setObjectDispatcher(
    cls,
    `/activities/${kind}/{id}`,
    (_ctx, values) => sentActivities.get(`${kind}/${values.id}`) ?? null,
  );
}

function newActivityId(ctx, kind, cls) {
  const id = randomUUID();
  return { key: `${kind}/${id}`, uri: ctx.getObjectUri(cls, { id }) };
}

async function record(ctx, activity) {
  const json = await activity.toJsonLd({ contextLoader: ctx.contextLoader });
  received.push({
    type: json.type ?? null,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    object: activity.objectId?.href ?? null,
    receivedAt: new Date().toISOString(),
    recipient: ctx.recipient ?? null,
    signature: ctx.data?.signature ?? null,
    activity: json, // Fedify's compacted JSON-LD of what it parsed
    raw: ctx.data?.raw ?? null, // the request body exactly as the sender sent it
  });
}

async function onFollow(ctx, follow) {
  await record(ctx, follow);
  const parsed = ctx.parseUri(follow.objectId);
  if (follow.id == null || follow.actorId == null) return;
  if (parsed?.type !== "actor" || parsed.identifier !== IDENTIFIER) return;
  const follower = await follow.getActor(ctx);
  if (follower == null || follower.id == null) {
    console.error(`peer: could not fetch the follower ${follow.actorId.href}`);
    return;
  }
  followers.set(follower.id.href, follower);
  const { key, uri } = newActivityId(ctx, "accept", Accept);
  // The Follow is embedded as received (ids only), as Mastodon does.
  const accept = new Accept({
    id: uri,
    actor: ctx.getActorUri(IDENTIFIER),
    object: new Follow({ id: follow.id, actor: follow.actorId, object: follow.objectId }),
    to: follower.id,
  });
  sentActivities.set(key, accept);
  // Queued (not immediate): the Accept is delivered after this inbox request is answered.
  await ctx.sendActivity({ identifier: IDENTIFIER }, follower, accept);
}

async function onUndo(ctx, undo) {
  await record(ctx, undo);
  const object = await undo.getObject(ctx).catch(() => null);
  if (object instanceof Follow && undo.actorId != null) {
    followers.delete(undo.actorId.href);
  }
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, onFollow)
  .on(Undo, onUndo)
  .on(Accept, record)
  .on(Reject, record)
  .on(Create, record)
  .on(Update, record)
  .on(Delete, record)
  .on(Announce, record)
  .on(Like, record)
  .on(Offer, record)
  .on(Activity, record) // any other verified activity type
  .onError((_ctx, error) => {
    console.error(`peer: inbox listener failed: ${error?.stack ?? error}`);
  });

// --- control API ---------------------------------------------------------------------------
class ControlError extends Error {
  constructor(message, extra = {}) {
    super(message);
    this.extra = extra;
  }
}

function controlContext() {
  return federation.createContext(new URL(ORIGIN), { signature: null, raw: null });
}

function requireUrl(body, name) {
  const value = body?.[name];
  if (typeof value !== "string" || value === "") {
    throw new ControlError(`missing "${name}"`);
  }
  try {
    return new URL(value);
  } catch {
    throw new ControlError(`"${name}" is not a URL: ${value}`);
  }
}

async function lookupActor(ctx, url, signed) {
  const options = signed
    ? { documentLoader: await ctx.getDocumentLoader({ identifier: IDENTIFIER }) }
    : {};
  let actor;
  try {
    actor = await ctx.lookupObject(url, options);
  } catch (error) {
    throw new ControlError(`lookup of ${url.href} failed: ${error?.message ?? error}`);
  }
  if (actor == null) throw new ControlError(`lookup of ${url.href} found nothing`);
  if (!isActor(actor)) {
    throw new ControlError(`${url.href} is not an actor (${actor.constructor.name})`);
  }
  if (actor.id == null || actor.inboxId == null) {
    throw new ControlError(`actor ${url.href} has no id or no inbox`);
  }
  return actor;
}

/** The note alice made (by /control/reply) behind a note URL: { id, url, note, tombstone }. */
function findNote(ctx, body) {
  const url = requireUrl(body, "object");
  const parsed = ctx.parseUri(url);
  const id = parsed?.type === "object" && parsed.class === Note ? parsed.values.id : null;
  const tombstone = deletedNotes.get(url.href) ?? null;
  const note = id == null ? null : notes.get(id) ?? null;
  if (note == null && tombstone == null) {
    throw new ControlError(`unknown note ${url.href}: alice made no such note`);
  }
  return { id, url, note, tombstone };
}

/** lookupActor() that keeps the ids created so far in the error answer. */
async function lookupTarget(ctx, url, signed, extra) {
  try {
    return await lookupActor(ctx, url, signed);
  } catch (error) {
    error.extra = { ...extra, ...error.extra };
    throw error;
  }
}

async function rememberedSpec(actor) {
  if (actor.inboxId == null) return null;
  return (await kv.get([...SPEC_PREFIX, actor.inboxId.origin])) ?? null;
}

/** Sends through Fedify and turns the outcome into the control answer. */
async function deliver(ctx, recipient, activity, extra) {
  const store = requestStore.getStore();
  try {
    await ctx.sendActivity({ identifier: IDENTIFIER }, recipient, activity, {
      immediate: true,
    });
  } catch (error) {
    throw new ControlError(`delivery to ${recipient.inboxId?.href} failed: ${error?.message}`, {
      ...extra,
      delivered: false,
      status: error?.statusCode ?? null,
      inbox: recipient.inboxId?.href ?? null,
      requests: store?.requests ?? [],
    });
  }
  return {
    ...extra,
    delivered: true,
    inbox: recipient.inboxId?.href ?? null,
    // The signature profile Fedify now remembers for the recipient's origin: the one the
    // recipient accepted ("rfc9421" on the first knock, "draft-cavage-http-signatures-12"
    // after a double knock).
    acceptedSpec: await rememberedSpec(recipient),
    requests: store?.requests ?? [],
  };
}

const control = {
  "GET /control/health": () => ({ ok: true, actor: `${ORIGIN}/users/${IDENTIFIER}` }),
  "GET /control/inbox": () => ({ activities: received }),
  "GET /control/outgoing": () => ({ requests: outgoing }),
  "POST /control/reset": async () => {
    received.length = 0;
    outgoing.length = 0;
    const keys = [];
    for await (const entry of kv.list(SPEC_PREFIX)) keys.push(entry.key);
    for (const key of keys) await kv.delete(key);
    return { ok: true };
  },
  "POST /control/follow": async (body) => {
    const ctx = controlContext();
    const target = await lookupActor(ctx, requireUrl(body, "target"), body.signed);
    const { key, uri } = newActivityId(ctx, "follow", Follow);
    const follow = new Follow({
      id: uri,
      actor: ctx.getActorUri(IDENTIFIER),
      object: target.id,
      to: target.id,
    });
    sentActivities.set(key, follow);
    following.set(target.id.href, { followId: uri.href, follow });
    return await deliver(ctx, target, follow, { id: uri.href });
  },
  "POST /control/unfollow": async (body) => {
    const ctx = controlContext();
    const target = await lookupActor(ctx, requireUrl(body, "target"), body.signed);
    const entry = following.get(target.id.href);
    if (entry == null) throw new ControlError(`alice does not follow ${target.id.href}`);
    const { key, uri } = newActivityId(ctx, "undo", Undo);
    const undo = new Undo({
      id: uri,
      actor: ctx.getActorUri(IDENTIFIER),
      object: entry.follow,
      to: target.id,
    });
    sentActivities.set(key, undo);
    const answer = await deliver(ctx, target, undo, { id: uri.href, followId: entry.followId });
    following.delete(target.id.href);
    return answer;
  },
  "POST /control/reply": async (body) => {
    const ctx = controlContext();
    const inReplyTo = requireUrl(body, "inReplyTo");
    const to = requireUrl(body, "to");
    if (typeof body.content !== "string") throw new ControlError('missing "content"');
    // The Note exists (and is served) before the target is looked up, so it can be fetched
    // even when the delivery fails.
    const noteId = randomUUID();
    const noteUri = ctx.getObjectUri(Note, { id: noteId });
    const { key, uri } = newActivityId(ctx, "create", Create);
    const extra = { id: uri.href, noteId: noteUri.href };
    const published = Temporal.Now.instant();
    const actorUri = ctx.getActorUri(IDENTIFIER);
    let note = new Note({
      id: noteUri,
      attribution: actorUri,
      to,
      cc: PUBLIC_COLLECTION,
      content: body.content,
      replyTarget: inReplyTo,
      published,
    });
    notes.set(noteId, note);
    let target;
    try {
      target = await lookupActor(ctx, to, body.signed);
    } catch (error) {
      error.extra = { ...extra, ...error.extra };
      throw error;
    }
    const handle = target.preferredUsername == null
      ? null
      : `@${target.preferredUsername}@${new URL(target.id).host}`;
    note = note.clone({ tags: [new Mention({ href: target.id, name: handle })] });
    notes.set(noteId, note);
    const create = new Create({
      id: uri,
      actor: actorUri,
      object: note,
      to: target.id,
      cc: PUBLIC_COLLECTION,
      published,
    });
    sentActivities.set(key, create);
    return await deliver(ctx, target, create, extra);
  },
  "POST /control/like": async (body) => {
    const ctx = controlContext();
    const object = requireUrl(body, "object");
    const target = await lookupActor(ctx, requireUrl(body, "to"), body.signed);
    const { key, uri } = newActivityId(ctx, "like", Like);
    const like = new Like({
      id: uri,
      actor: ctx.getActorUri(IDENTIFIER),
      object,
      to: target.id,
    });
    sentActivities.set(key, like);
    return await deliver(ctx, target, like, { id: uri.href });
  },
  "POST /control/update": async (body) => {
    const ctx = controlContext();
    const found = findNote(ctx, body);
    if (found.note == null) throw new ControlError(`note ${found.url.href} was deleted`);
    const to = requireUrl(body, "to");
    if (typeof body.content !== "string") throw new ControlError('missing "content"');
    const { key, uri } = newActivityId(ctx, "update", Update);
    const extra = { id: uri.href, noteId: found.url.href };
    // The note is updated (and served so) before the target is looked up.
    const updated = Temporal.Now.instant();
    const note = found.note.clone({ content: body.content, updated });
    notes.set(found.id, note);
    const target = await lookupTarget(ctx, to, body.signed, extra);
    const update = new Update({
      id: uri,
      actor: ctx.getActorUri(IDENTIFIER),
      object: note,
      to: target.id,
      cc: PUBLIC_COLLECTION,
      published: updated,
    });
    sentActivities.set(key, update);
    return await deliver(ctx, target, update, extra);
  },
  "POST /control/delete": async (body) => {
    const ctx = controlContext();
    const found = findNote(ctx, body);
    const to = requireUrl(body, "to");
    const { key, uri } = newActivityId(ctx, "delete", Delete);
    const extra = { id: uri.href, noteId: found.url.href };
    // The note is gone (410) before the target is looked up; deleting it again re-sends a
    // Delete with the same Tombstone.
    const tombstone = found.tombstone ?? new Tombstone({
      id: found.url,
      formerType: Note,
      deleted: Temporal.Now.instant(),
    });
    deletedNotes.set(found.url.href, tombstone);
    if (found.id != null) notes.delete(found.id);
    const target = await lookupTarget(ctx, to, body.signed, extra);
    const del = new Delete({
      id: uri,
      actor: ctx.getActorUri(IDENTIFIER),
      object: tombstone,
      to: target.id,
      cc: PUBLIC_COLLECTION,
    });
    sentActivities.set(key, del);
    return await deliver(ctx, target, del, extra);
  },
  "POST /control/send": async (body) => {
    const ctx = controlContext();
    const to = requireUrl(body, "to");
    const json = body.activity;
    if (json == null || typeof json !== "object" || Array.isArray(json)) {
      throw new ControlError('"activity" must be a JSON object');
    }
    const withContext = "@context" in json
      ? json
      : { "@context": "https://www.w3.org/ns/activitystreams", ...json };
    let activity;
    try {
      activity = await Activity.fromJsonLd(withContext, {
        contextLoader: ctx.contextLoader,
        documentLoader: ctx.documentLoader,
      });
    } catch (error) {
      throw new ControlError(`"activity" is not an activity Fedify can parse: ${error?.message}`);
    }
    if (activity.id == null) {
      activity = activity.clone({ id: new URL(`/activities/send/${randomUUID()}`, ORIGIN) });
    }
    const extra = {
      id: activity.id.href,
      activity: await activity.toJsonLd({ contextLoader: ctx.contextLoader }),
    };
    const target = await lookupTarget(ctx, to, body.signed, extra);
    try {
      return await deliver(ctx, target, activity, extra);
    } catch (error) {
      // Nothing was POSTed to the inbox: Fedify refused the activity before delivering it.
      const inbox = target.inboxId.href;
      const posted = (error.extra?.requests ?? []).some(
        (r) => r.method === "POST" && r.url === inbox,
      );
      if (!posted && error instanceof ControlError) {
        error.message = error.message.replace(
          /^delivery to (\S+) failed: /,
          "Fedify refused to send the activity to $1: ",
        );
      }
      throw error;
    }
  },
  "POST /control/poll": async (body) => {
    const ctx = controlContext();
    const json = body.activity;
    if (json == null || typeof json !== "object" || Array.isArray(json)) {
      throw new ControlError('"activity" must be a JSON object');
    }
    // Only what the activity embeds: nothing is fetched (crossOrigin "trust" keeps the
    // embedded options, whose ids are blank).
    const loaders = { contextLoader: ctx.contextLoader, documentLoader: ctx.contextLoader };
    const activity = await Activity.fromJsonLd(json, loaders);
    const question = await activity.getObject({ ...loaders, crossOrigin: "trust" });
    if (!(question instanceof Question)) {
      throw new ControlError(`not a Question: ${question?.constructor?.name ?? question}`);
    }
    const read = async (iterable) => {
      const options = [];
      for await (const option of iterable) {
        const replies = await option.getReplies({ ...loaders, crossOrigin: "trust" });
        options.push({
          name: option.name?.toString() ?? null,
          totalItems: replies?.totalItems ?? null,
        });
      }
      return options;
    };
    const oneOf = await read(question.getExclusiveOptions({ ...loaders, crossOrigin: "trust" }));
    const anyOf = await read(question.getInclusiveOptions({ ...loaders, crossOrigin: "trust" }));
    const closed = question.closed;
    return {
      type: "Question",
      id: question.id?.href ?? null,
      multiple: anyOf.length > 0,
      options: anyOf.length > 0 ? anyOf : oneOf,
      voters: question.voters,
      endTime: question.endTime?.toString() ?? null,
      closed: closed == null || typeof closed === "boolean" ? closed : closed.toString(),
    };
  },
  "POST /control/fetch": async (body) => {
    const ctx = controlContext();
    const url = requireUrl(body, "url");
    const store = requestStore.getStore();
    let document = null;
    try {
      if (body.signed) {
        // As a server fetches for its user: Fedify's authenticated document loader signs
        // with alice's key (double knock: RFC 9421 first, then draft-cavage).
        const loader = await ctx.getDocumentLoader({ identifier: IDENTIFIER });
        document = (await loader(url.href)).document;
      } else {
        const response = await fetch(url, { headers: { accept: "application/activity+json" } });
        if (response.ok) document = await response.json();
      }
    } catch {
      // A refused fetch: its status is in the requests recorded below.
    }
    const tries = (store?.requests ?? []).filter((r) => r.method === "GET" && r.url === url.href);
    return {
      status: tries.at(-1)?.status ?? null,
      profiles: tries.map((r) => r.profile),
      document,
    };
  },
};

// --- HTTP server (Node's http <-> Fetch API Request/Response) -------------------------------
async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new ControlError("request body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function sendJson(res, status, payload) {
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

async function handleControl(req, res, url, rawBody) {
  const handler = control[`${req.method} ${url.pathname}`];
  if (handler == null) {
    sendJson(res, 404, { error: `no control endpoint ${req.method} ${url.pathname}` });
    return;
  }
  const store = { signature: null, raw: null, requests: [] };
  try {
    let body = {};
    if (rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody.toString("utf8"));
      } catch {
        throw new ControlError("the body is not JSON");
      }
    }
    const answer = await requestStore.run(store, () => handler(body ?? {}));
    sendJson(res, 200, answer);
  } catch (error) {
    const extra = error instanceof ControlError ? error.extra : {};
    const detail = error instanceof ControlError ? error.message : error?.stack ?? error;
    console.error(`peer: ${req.method} ${url.pathname} failed: ${detail}`);
    sendJson(res, 500, {
      error: String(error?.message ?? error),
      requests: store.requests,
      ...extra,
    });
  }
}

async function handleFederation(req, res, url, rawBody) {
  // A note alice deleted is gone, as Mastodon answers: 410 with its Tombstone.
  const tombstone = req.method === "GET" || req.method === "HEAD"
    ? deletedNotes.get(`${url.origin}${url.pathname}`)
    : null;
  if (tombstone != null) {
    const { contextLoader } = controlContext();
    const body = JSON.stringify(await tombstone.toJsonLd({ contextLoader }));
    res.writeHead(410, {
      "Content-Type": "application/activity+json",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(req.method === "HEAD" ? undefined : body);
    return;
  }
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const request = new Request(url, {
    method: req.method,
    headers,
    body: hasBody ? rawBody : undefined,
  });
  let json = null;
  if (hasBody) {
    try {
      json = JSON.parse(rawBody.toString("utf8"));
    } catch {
      json = null;
    }
  }
  const store = {
    signature: hasBody ? describeSignatures(headers, json) : null,
    raw: json,
    requests: [],
  };
  const response = await requestStore.run(store, () =>
    federation.fetch(request, {
      contextData: store,
      onNotFound: () => new Response("Not Found", { status: 404 }),
      onNotAcceptable: () => new Response("Not Acceptable", { status: 406 }),
    })
  );
  const outHeaders = {};
  for (const [name, value] of response.headers) outHeaders[name] = value;
  const body = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, outHeaders);
  res.end(req.method === "HEAD" ? undefined : body);
}

const server = http.createServer((req, res) => {
  (async () => {
    const url = new URL(req.url ?? "/", ORIGIN);
    const rawBody = await readBody(req);
    if (url.pathname.startsWith("/control/")) {
      await handleControl(req, res, url, rawBody);
    } else {
      await handleFederation(req, res, url, rawBody);
    }
  })().catch((error) => {
    console.error(`peer: ${req.method} ${req.url} failed: ${error?.stack ?? error}`);
    if (!res.headersSent) {
      sendJson(res, 500, { error: String(error?.message ?? error) });
    } else {
      res.destroy();
    }
  });
});

process.on("unhandledRejection", (error) => {
  console.error(`peer: unhandled rejection: ${error?.stack ?? error}`);
});
process.on("uncaughtException", (error) => {
  console.error(`peer: uncaught exception: ${error?.stack ?? error}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}

server.listen(PORT, HOST, () => {
  console.log(`peer: listening on ${ORIGIN}, actor ${ORIGIN}/users/${IDENTIFIER}`);
});
