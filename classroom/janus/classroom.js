// The class rooms inside Janus: a script for Janus's Duktape plugin (janus.plugin.duktape),
// installed and started by scripts/ensure-janus.sh, driven by classroom/janus.py over the
// Janus API. Nothing here ever reaches a browser.
//
// Every participant is ONE plugin session (one Janus handle) holding the browser's single
// sendrecv audio connection, offered by the browser and answered here — the page's protocol,
// unchanged. The script only decides who hears whom; the packets are relayed by the plugin's C
// code (addRecipient: the sender's Opus packets copied to each recipient's connection, sequence
// numbers and timestamps rewritten when a recipient's source changes), never decoded:
//
//   nobody has the floor:      tutor -> every student
//   a student has the floor:   floor -> tutor and every other student, tutor -> floor
//
// Requests (the handle's "message" body; synchronous answers unless they carry an offer):
//   {request: "create", room, record}   a room (idempotent)
//   {request: "destroy", room}          closes every connection of the room, forgets it
//   {request: "list", prefix}           the rooms whose names start with prefix
//   {request: "floor", room, user}      gives the floor to user (null: takes it back)
//   {request: "leave", room, user}      closes that user's connection (whichever instance made it)
//   {request: "stats", room}            participants, connected, tutor, floor
//   {request: "join", room, user, role} + JSEP offer -> event {classroom: "joined"} + JSEP answer
name = "classroom.js";

var folder = getModulesFolder();
Duktape.modSearch = function(id) {
	var res = readFile(folder + '/' + id + '.js');
	if(typeof res === 'string')
		return res;
	throw new Error('Module not found: ' + id);
};
var sdpUtils = require("janus-sdp");

var rooms = {};      // name -> {name, record, tutor, floorUser, members: {sid: user}, edges: {"a>b": [a, b]}, takes}
var sessions = {};   // sid -> {id, room, user, role, up}
var tasks = [];

function getVersion() { return 1; }
function getVersionString() { return "0.1.0"; }
function getDescription() { return "One-to-many class rooms of the tutoring service: packets relayed, never decoded"; }
function getName() { return "Tutoring classroom"; }
function getAuthor() { return "tutoring"; }
function getPackage() { return "janus.plugin.classroom"; }

function init(config) { console.log("classroom.js loaded"); }
function destroy() { }

function createSession(id) { sessions[id] = { id: id, room: null, user: null, role: null, up: false }; }

function destroySession(id) {
	leave(id);
	delete sessions[id];
}

function querySession(id) {
	var s = sessions[id];
	return s ? JSON.stringify({ room: s.room, user: s.user, role: s.role, up: s.up }) : null;
}

function ok(extra) {
	var out = { classroom: "ok" };
	for(var k in (extra || {})) out[k] = extra[k];
	return JSON.stringify(out);
}

function error(text) { return JSON.stringify({ classroom: "error", error: text }); }

function handleMessage(id, tr, msg, jsep) {
	if(!sessions[id])
		return -1;
	var m = JSON.parse(msg);
	if(m.request === "join") {
		if(!jsep)
			return error("join needs an SDP offer");
		tasks.push({ id: id, tr: tr, msg: m, jsep: JSON.parse(jsep) });
		pokeScheduler();
		return 1;
	}
	if(typeof m.room !== "string" && m.request !== "list")
		return error("room is required");
	var room = rooms[m.room];
	if(m.request === "create") {
		if(!room)
			rooms[m.room] = { name: m.room, record: !!m.record, tutor: null, floorUser: null, members: {}, edges: {}, takes: 0 };
		return ok({ room: m.room });
	}
	if(m.request === "list") {
		var names = [];
		for(var n in rooms)
			if(!m.prefix || n.indexOf(m.prefix) === 0) names.push(n);
		return ok({ rooms: names });
	}
	if(!room)
		return m.request === "destroy" ? ok({ room: m.room }) : error("no such room");
	if(m.request === "destroy") {
		for(var sid in room.members) {
			sessions[sid] && (sessions[sid].room = null);
			try { closePc(Number(sid)); } catch(e) { }
		}
		room.members = {};
		route(room);
		delete rooms[m.room];
		return ok({ room: m.room });
	}
	if(m.request === "floor") {
		var before = floorSession(room);
		room.floorUser = (m.user === null || m.user === undefined) ? null : m.user;
		if(room.record && before !== null && before !== floorSession(room))
			try { stopRecording(before, "audio"); } catch(e) { }
		route(room);
		record(room, floorSession(room), "floor");
		return ok({ room: m.room, floor: room.floorUser });
	}
	if(m.request === "leave") {
		for(var lid in room.members) {
			if(room.members[lid] === m.user) {
				var gone = Number(lid);
				leave(gone);
				try { closePc(gone); } catch(e) { }
			}
		}
		return ok({ room: m.room });
	}
	if(m.request === "stats") {
		var count = 0, up = 0;
		for(var s in room.members) {
			count++;
			if(sessions[s] && sessions[s].up) up++;
		}
		return ok({ room: m.room, participants: count, connected: up, floor: room.floorUser,
			tutor: room.tutor !== null && sessions[room.tutor] ? sessions[room.tutor].user : null });
	}
	return error("unknown request " + m.request);
}

function handleAdminMessage(message) { return message; }

function floorSession(room) {
	if(room.floorUser === null)
		return null;
	for(var sid in room.members)
		if(room.members[sid] === room.floorUser && Number(sid) !== room.tutor) return Number(sid);
	return null;
}

// Who hears whom, applied as the difference with what is in place.
function route(room) {
	var want = {};
	var t = room.tutor, f = floorSession(room);
	var add = function(a, b) { if(a !== null && b !== null && a !== b) want[a + ">" + b] = [a, b]; };
	for(var sid in room.members) {
		var s = Number(sid);
		if(s === t || s === f) continue;
		add(f !== null ? f : t, s);
	}
	if(f !== null) {
		add(t, f);
		add(f, t);
	}
	for(var e in room.edges)
		if(!want[e]) try { removeRecipient(room.edges[e][0], room.edges[e][1]); } catch(err) { }
	for(var w in want)
		if(!room.edges[w]) try { addRecipient(want[w][0], want[w][1]); } catch(err) { delete want[w]; }
	room.edges = want;
}

function leave(id) {
	var s = sessions[id];
	if(!s || s.room === null || !rooms[s.room])
		return;
	var room = rooms[s.room];
	delete room.members[id];
	if(room.tutor === id)
		room.tutor = null;
	s.room = null;
	route(room);
}

function record(room, sid, what) {
	if(!room.record || sid === null)
		return;
	room.takes++;
	try {
		startRecording(sid, "audio", "opus", folder + "/recordings",
			room.name.replace(/[^A-Za-z0-9_-]/g, "_") + "-" + what + "-" + room.takes);
	} catch(e) { console.log("classroom.js: recording failed: " + e); }
}

function join(task) {
	var id = task.id, m = task.msg, s = sessions[id];
	if(!s)
		return;
	var room = rooms[m.room];
	if(!room) {
		pushEvent(id, task.tr, error("no such room"), null);
		return;
	}
	var offer = sdpUtils.parse(task.jsep.sdp);
	if(sdpUtils.findPayloadType(offer, "opus") < 0) {
		pushEvent(id, task.tr, error("the offer has no Opus audio"), null);
		return;
	}
	for(var sid in room.members) {  // the user's previous connection to this room gives way
		if(room.members[sid] === m.user && Number(sid) !== id) {
			leave(Number(sid));
			try { closePc(Number(sid)); } catch(e) { }
		}
	}
	s.room = m.room;
	s.user = m.user;
	s.role = m.role;
	room.members[id] = m.user;
	if(m.role === "tutor")
		room.tutor = id;
	// No transport-wide congestion control: relayed audio has no bitrate to adapt, and a browser would
	// send its feedback to Janus every 50-100 ms per listener for nothing.
	var answer = sdpUtils.generateAnswer(offer, { audio: true, video: false, data: false, audioCodec: "opus", disableTwcc: true });
	configureMedium(id, "audio", "in", true);
	configureMedium(id, "audio", "out", true);
	route(room);
	pushEvent(id, task.tr, JSON.stringify({ classroom: "joined", room: m.room }),
		JSON.stringify({ type: "answer", sdp: sdpUtils.render(answer) }));
	if(m.role === "tutor")
		record(room, id, "tutor");
	else if(room.floorUser === m.user)
		record(room, id, "floor");
}

function setupMedia(id) {
	var s = sessions[id];
	if(!s)
		return;
	s.up = true;
	if(s.room !== null && rooms[s.room]) {
		configureMedium(id, "audio", "in", true);
		configureMedium(id, "audio", "out", true);
		route(rooms[s.room]);
	}
}

function hangupMedia(id) {
	var s = sessions[id];
	if(!s)
		return;
	s.up = false;
	leave(id);  // a connection that went down does not come back: a new offer makes a new one
}

function incomingTextData(id, buf, len, label, protocol) { }
function incomingBinaryData(id, buf, len, label, protocol) { }
function dataReady(id) { }

function resumeScheduler() {
	var pending = tasks;
	tasks = [];
	for(var i = 0; i < pending.length; i++) {
		try { join(pending[i]); } catch(e) {
			console.log("classroom.js: join failed: " + e);
			pushEvent(pending[i].id, pending[i].tr, error("join failed: " + e), null);
		}
	}
}
