-- The end-to-end test of `btl lsp` with a real client: Neovim's built-in LSP client (0.7+).
--
-- Run by run.sh as `nvim --headless -u NONE -i NONE -n -c 'luafile client.lua'` with
-- BTL_BIN (the btl binary), E2E_DIR (a folder holding broken.btl) and E2E_OUT (the results
-- file). Writes one line per check, `PASS name` or `FAIL name: why`, then quits. Every wait is
-- bounded; run.sh also kills Neovim if it outlives its time limit.

local btl = assert(os.getenv("BTL_BIN"), "BTL_BIN is not set")
local dir = assert(os.getenv("E2E_DIR"), "E2E_DIR is not set")
local out = assert(os.getenv("E2E_OUT"), "E2E_OUT is not set")
local WAIT = 20000

local results = {}
local function report(name, ok, detail)
  local line = (ok and "PASS " or "FAIL ") .. name
  if detail then
    line = line .. ": " .. detail
  end
  table.insert(results, line)
end

local function finish()
  local f = assert(io.open(out, "w"))
  f:write(table.concat(results, "\n") .. "\n")
  f:close()
end

local function contains(s, needle)
  return type(s) == "string" and string.find(s, needle, 1, true) ~= nil
end

-- The only answer of the only client to a request, or nil and why.
local function request(buf, method, params)
  if #vim.lsp.buf_get_clients(buf) == 0 then
    return nil, "no client is attached (the server is gone)"
  end
  local answers, err = vim.lsp.buf_request_sync(buf, method, params, WAIT)
  if not answers then
    return nil, "no answer: " .. tostring(err)
  end
  for _, answer in pairs(answers) do
    if answer.error then
      return nil, "error: " .. vim.inspect(answer.error)
    end
    return answer.result
  end
  return nil, "no client answered"
end

local function run()
  local path = dir .. "/broken.btl"
  vim.cmd("edit " .. vim.fn.fnameescape(path))
  local buf = vim.api.nvim_get_current_buf()
  local uri = vim.uri_from_bufnr(buf)
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)

  local client_id = vim.lsp.start_client({
    name = "btl",
    cmd = { btl, "lsp" },
    root_dir = dir,
  })
  if not client_id then
    report("start", false, "vim.lsp.start_client returned nil")
    return
  end
  vim.lsp.buf_attach_client(buf, client_id)

  local function alive()
    return vim.lsp.get_client_by_id(client_id) ~= nil
  end

  -- 1. The diagnostic for `undefined_thing`, at its line and (byte) column.
  local got = vim.wait(WAIT, function()
    return #vim.diagnostic.get(buf) > 0 or not alive()
  end, 20) and #vim.diagnostic.get(buf) > 0
  local had_diagnostics = got
  local want_line, want_col
  for i, l in ipairs(lines) do
    local c = string.find(l, "undefined_thing", 1, true)
    if c then
      want_line, want_col = i - 1, c - 1
    end
  end
  if not got then
    report("diagnostic", false, "no diagnostics within " .. WAIT .. " ms, or the server exited")
  else
    local diags = vim.diagnostic.get(buf)
    local d = diags[1]
    local ok = #diags == 1
      and d.lnum == want_line
      and d.col == want_col
      and d.end_col == want_col + #"undefined_thing"
      and d.severity == vim.diagnostic.severity.ERROR
      and contains(d.message, "unknown name `undefined_thing`")
    report(
      "diagnostic",
      ok,
      not ok and string.format("want 1 error at %d:%d, got %s", want_line, want_col, vim.inspect(diags)) or nil
    )
  end

  -- 2. Hover on `f` in `let f = sma(close, fast)`: its type and series facts.
  local let_line
  for i, l in ipairs(lines) do
    if contains(l, "let f = ") then
      let_line = i - 1
    end
  end
  local f_col = string.find(lines[let_line + 1], "let f", 1, true) + 3
  local hover, why = request(buf, "textDocument/hover", {
    textDocument = { uri = uri },
    position = { line = let_line, character = f_col },
  })
  local value = hover and hover.contents and (hover.contents.value or hover.contents)
  local ok = contains(value, "let f: series float")
    and contains(value, "**lookback** 0")
    and contains(value, "**warm-up** bar 9")
  report("hover", ok, not ok and (why or vim.inspect(hover)) or nil)

  -- 3. Definition of `sma`: the stdlib's copy in the cache folder.
  local sma_col = string.find(lines[let_line + 1], "sma", 1, true)
  local def
  def, why = request(buf, "textDocument/definition", {
    textDocument = { uri = uri },
    position = { line = let_line, character = sma_col },
  })
  if def and def[1] then
    def = def[1]
  end
  if def and def.uri then
    local fname = vim.uri_to_fname(def.uri)
    local f = io.open(fname, "r")
    local text = f and f:read("*a") or ""
    if f then
      f:close()
    end
    local line = vim.split(text, "\n", true)[def.range.start.line + 1] or ""
    ok = contains(line, "fn sma(")
    report("definition", ok, not ok and ("line " .. def.range.start.line .. " of " .. fname .. ": " .. line) or nil)
  else
    report("definition", false, why or vim.inspect(def))
  end

  -- 4. Fixing the error in the buffer clears the diagnostics.
  if not had_diagnostics or not alive() then
    report("change", false, "the server published no diagnostics, or is gone")
  else
    local fixed = string.gsub(lines[want_line + 1], "undefined_thing", "close")
    vim.api.nvim_buf_set_lines(buf, want_line, want_line + 1, false, { fixed })
    got = vim.wait(WAIT, function()
      return #vim.diagnostic.get(buf) == 0
    end, 20)
    report("change", got, not got and vim.inspect(vim.diagnostic.get(buf)) or nil)
  end

  vim.lsp.stop_client(client_id)
  vim.wait(5000, function()
    return vim.lsp.get_client_by_id(client_id) == nil
  end, 20)
end

local ok, err = pcall(run)
if not ok then
  report("client script", false, tostring(err))
end
finish()
vim.cmd("qa!")
