-- wrk script: POST send-text round-robin over one or more chatedge instances, with the same
-- bodies `chatedge-loadtest send` uses (1000 recipients, 32-character messages), so wrk and
-- the loadtest measure the same requests. Works against chatedge and against
-- `chatedge-loadtest baseline-server` alike (the baseline answers any instance path).
--
-- Instances, from the first that is set:
--   wrk ... -s send_text.lua URL -- ID:TOKEN [ID:TOKEN ...]    (arguments after --)
--   SEND_TEXT_INSTANCES="ID:TOKEN ID:TOKEN"                     (environment)
--   SEND_TEXT_INSTANCE_ID=ID SEND_TEXT_TOKEN=TOKEN              (environment, one instance)
-- SEND_TEXT_CHARS (default 32) sets the message length.

local paths = {}
local bodies = {}
local n = 0

local function add(pair)
  local id, token = pair:match("^([^:]+):(.+)$")
  if not id then
    error("expected ID:TOKEN, got " .. pair)
  end
  paths[#paths + 1] = "/instances/" .. id .. "/token/" .. token .. "/send-text"
end

function init(args)
  for _, pair in ipairs(args) do
    add(pair)
  end
  if #paths == 0 then
    for pair in (os.getenv("SEND_TEXT_INSTANCES") or ""):gmatch("%S+") do
      add(pair)
    end
  end
  if #paths == 0 and os.getenv("SEND_TEXT_INSTANCE_ID") then
    add(os.getenv("SEND_TEXT_INSTANCE_ID") .. ":" .. (os.getenv("SEND_TEXT_TOKEN") or ""))
  end
  if #paths == 0 then
    error("no instance: pass ID:TOKEN after --, or set SEND_TEXT_INSTANCES")
  end
  local chars = tonumber(os.getenv("SEND_TEXT_CHARS") or "32")
  for i = 0, 999 do
    -- Byte for byte the bodies of loadtest/src/scenario/send.rs (serde_json sorts the keys;
    -- phone_number("5511", i) never ends in 0000).
    local phone = string.format("5511%05d%04d", math.floor(i / 9999), i % 9999 + 1)
    local message = string.format("chatedge-loadtest %04d ", i)
    message = (message .. string.rep("x", chars)):sub(1, math.max(chars, 1))
    bodies[#bodies + 1] = string.format('{"message":"%s","phone":"%s"}', message, phone)
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  n = n + 1
  return wrk.format(nil, paths[(n % #paths) + 1], nil, bodies[(n % #bodies) + 1])
end

-- No response() callback: it would cost wrk a Lua call per answer; wrk counts non-2xx
-- answers itself ("Non-2xx or 3xx responses").
