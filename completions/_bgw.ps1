
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'bgw' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'bgw'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'bgw' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Start a gateway and launch Claude Code through it; exits when Claude Code does')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the gateway for any Anthropic Messages client')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'Add, list and remove provider keys')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'List the models each configured provider offers')
            [CompletionResult]::new('route', 'route', [CompletionResultType]::ParameterValue, 'Routing rules: where requests go by a CEL condition, weighted splits, fallbacks')
            [CompletionResult]::new('budget', 'budget', [CompletionResultType]::ParameterValue, 'Budgets and rate limits per virtual key, team, customer, provider or in all')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Show the request log: every request, its provider, tokens, cost')
            [CompletionResult]::new('self-update', 'self-update', [CompletionResultType]::ParameterValue, 'Replace this bgw with the newest release (sha256 checked), if install.sh installed it')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the completion script for bash, zsh, fish, powershell or elvish')
            [CompletionResult]::new('store-owner', 'store-owner', [CompletionResultType]::ParameterValue, 'Hold the store file and serve other bgw processes (started by bgw itself when needed)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;run' {
            [CompletionResult]::new('--opus', '--opus', [CompletionResultType]::ParameterName, 'Model for the `opus` alias, as provider/model')
            [CompletionResult]::new('--sonnet', '--sonnet', [CompletionResultType]::ParameterName, 'Model for the `sonnet` alias, as provider/model')
            [CompletionResult]::new('--haiku', '--haiku', [CompletionResultType]::ParameterName, 'Model for the `haiku` alias (and background tasks), as provider/model')
            [CompletionResult]::new('--fable', '--fable', [CompletionResultType]::ParameterName, 'Model for the `fable` alias, as provider/model')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'The session''s main model, as provider/model')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port for the gateway (0 picks a free one)')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Charge this session to the stored virtual key NAME (its budgets, team and customer), without handling its secret')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Stop this session once it has spent this many US dollars (`5`, `$12.50`)')
            [CompletionResult]::new('--claude-bin', '--claude-bin', [CompletionResultType]::ParameterName, 'The Claude Code executable [default: `claude` on PATH]')
            [CompletionResult]::new('--max-body-mb', '--max-body-mb', [CompletionResultType]::ParameterName, 'Largest request body accepted, in MiB')
            [CompletionResult]::new('--upstream-timeout', '--upstream-timeout', [CompletionResultType]::ParameterName, 'Seconds an upstream may stay silent before the request fails')
            [CompletionResult]::new('--first-byte-timeout', '--first-byte-timeout', [CompletionResultType]::ParameterName, 'Seconds a streamed answer''s first event may take before the next target is tried')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Tries of one request across all its targets (retries and fallbacks together)')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('--bedrock', '--bedrock', [CompletionResultType]::ParameterName, 'Run Claude Code in its Amazon Bedrock mode (`CLAUDE_CODE_USE_BEDROCK`), served by bgw: for setups that require that mode; the models are routed like any others')
            [CompletionResult]::new('--vertex', '--vertex', [CompletionResultType]::ParameterName, 'Run Claude Code in its Google Vertex AI mode (`CLAUDE_CODE_USE_VERTEX`), served by bgw')
            [CompletionResult]::new('--no-content', '--no-content', [CompletionResultType]::ParameterName, 'Log requests without their bodies (the request and the response)')
            [CompletionResult]::new('--no-log', '--no-log', [CompletionResultType]::ParameterName, 'Keep no request log at all (`bgw logs` will not see this gateway''s requests)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;serve' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Address to listen on')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port to listen on (0 picks a free one)')
            [CompletionResult]::new('--max-body-mb', '--max-body-mb', [CompletionResultType]::ParameterName, 'Largest request body accepted, in MiB')
            [CompletionResult]::new('--upstream-timeout', '--upstream-timeout', [CompletionResultType]::ParameterName, 'Seconds an upstream may stay silent before the request fails')
            [CompletionResult]::new('--first-byte-timeout', '--first-byte-timeout', [CompletionResultType]::ParameterName, 'Seconds a streamed answer''s first event may take before the next target is tried')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Tries of one request across all its targets (retries and fallbacks together)')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('--allow-anonymous', '--allow-anonymous', [CompletionResultType]::ParameterName, 'Serve requests without a virtual key too (as anonymous callers), even once virtual keys exist or on a non-loopback `--host`')
            [CompletionResult]::new('--no-content', '--no-content', [CompletionResultType]::ParameterName, 'Log requests without their bodies (the request and the response)')
            [CompletionResult]::new('--no-log', '--no-log', [CompletionResultType]::ParameterName, 'Keep no request log at all (`bgw logs` will not see this gateway''s requests)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;keys' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a key for a provider')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List keys (never prints a secret)')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a key by name')
            [CompletionResult]::new('virtual', 'virtual', [CompletionResultType]::ParameterValue, 'Virtual keys: the keys bgw gives its own callers, each with its models, budget and expiry')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;keys;add' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Name of this key [default: the provider name]')
            [CompletionResult]::new('--value', '--value', [CompletionResultType]::ParameterName, 'The key itself (stored in the data file; prefer --env)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Read the key from this environment variable each time it is used')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'vertex: a service account''s JSON key file, read each time it is used (only its path is stored). Without --file, --value or --stdin, vertex uses the application-default credentials (`gcloud auth application-default login`) and bedrock the AWS credentials of the environment or of --profile')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'vertex: the Google Cloud project [default: the key file''s]')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'vertex: the location (`us-east5`, `global`) [default: global]; bedrock: the AWS region [default: AWS_REGION, or the profile''s]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'bedrock: the profile of ~/.aws/credentials to sign with [default: AWS_PROFILE, or default] (the environment''s AWS_ACCESS_KEY_ID comes first, as in the AWS CLI)')
            [CompletionResult]::new('--base-url', '--base-url', [CompletionResultType]::ParameterName, 'Base URL of the API (required for azure and --compat)')
            [CompletionResult]::new('--weight', '--weight', [CompletionResultType]::ParameterName, 'Share of requests this key takes among the provider''s keys (any scale: 70 and 30, or 0.7 and 0.3); 0 keeps it for failover only')
            [CompletionResult]::new('--models', '--models', [CompletionResultType]::ParameterName, 'Use this key only for these models (comma-separated)')
            [CompletionResult]::new('--compat', '--compat', [CompletionResultType]::ParameterName, 'For a provider of your own: the API it speaks (openai or anthropic)')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('--stdin', '--stdin', [CompletionResultType]::ParameterName, 'Read the key from standard input (stored in the data file); for vertex, a service account''s JSON key')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;keys;list' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;keys;rm' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;keys;virtual' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Make a virtual key; its secret is printed once, on stdout')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List virtual keys (never a secret: only its last 4 characters)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one virtual key: what it may use, its limits, its status')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Give a virtual key a new secret (printed once); the old one stops working at once')
            [CompletionResult]::new('disable', 'disable', [CompletionResultType]::ParameterValue, 'Refuse a virtual key''s requests until `enable`')
            [CompletionResult]::new('enable', 'enable', [CompletionResultType]::ParameterValue, 'Accept a disabled virtual key''s requests again')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a virtual key and its limits')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;keys;virtual;create' {
            [CompletionResult]::new('--team', '--team', [CompletionResultType]::ParameterName, 'The team it belongs to (made if new); team budgets count its spend')
            [CompletionResult]::new('--customer', '--customer', [CompletionResultType]::ParameterName, 'The customer it belongs to (made if new); customer budgets count its spend')
            [CompletionResult]::new('--models', '--models', [CompletionResultType]::ParameterName, 'Models it may use, comma-separated: `openai/*`, `groq/llama-*`, `anthropic/claude-sonnet-4-5` (a bare name is Anthropic''s) [default: all]')
            [CompletionResult]::new('--providers', '--providers', [CompletionResultType]::ParameterName, 'Providers it may use, comma-separated [default: all]')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'US dollars it may spend per period: `50/month`, `5/day`, `200/30d`, `10/total`')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Requests it may make per period: `60/min`, `10k/day`')
            [CompletionResult]::new('--tokens', '--tokens', [CompletionResultType]::ParameterName, 'Tokens it may use per period: `2M/day` (repeat for other periods)')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'When it stops working: a duration from now (`30d`, `12h`) or a date (`2027-01-01`)')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;keys;virtual;list' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON array of objects instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;keys;virtual;show' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object instead of lines')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;keys;virtual;rotate' {
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'A new expiry: a duration from now (`30d`), a date (`2027-01-01`), or `never`')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;keys;virtual;disable' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;keys;virtual;enable' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;keys;virtual;rm' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;keys;virtual;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Make a virtual key; its secret is printed once, on stdout')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List virtual keys (never a secret: only its last 4 characters)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one virtual key: what it may use, its limits, its status')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Give a virtual key a new secret (printed once); the old one stops working at once')
            [CompletionResult]::new('disable', 'disable', [CompletionResultType]::ParameterValue, 'Refuse a virtual key''s requests until `enable`')
            [CompletionResult]::new('enable', 'enable', [CompletionResultType]::ParameterValue, 'Accept a disabled virtual key''s requests again')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a virtual key and its limits')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;keys;virtual;help;create' {
            break
        }
        'bgw;keys;virtual;help;list' {
            break
        }
        'bgw;keys;virtual;help;show' {
            break
        }
        'bgw;keys;virtual;help;rotate' {
            break
        }
        'bgw;keys;virtual;help;disable' {
            break
        }
        'bgw;keys;virtual;help;enable' {
            break
        }
        'bgw;keys;virtual;help;rm' {
            break
        }
        'bgw;keys;virtual;help;help' {
            break
        }
        'bgw;keys;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a key for a provider')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List keys (never prints a secret)')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a key by name')
            [CompletionResult]::new('virtual', 'virtual', [CompletionResultType]::ParameterValue, 'Virtual keys: the keys bgw gives its own callers, each with its models, budget and expiry')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;keys;help;add' {
            break
        }
        'bgw;keys;help;list' {
            break
        }
        'bgw;keys;help;rm' {
            break
        }
        'bgw;keys;help;virtual' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Make a virtual key; its secret is printed once, on stdout')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List virtual keys (never a secret: only its last 4 characters)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one virtual key: what it may use, its limits, its status')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Give a virtual key a new secret (printed once); the old one stops working at once')
            [CompletionResult]::new('disable', 'disable', [CompletionResultType]::ParameterValue, 'Refuse a virtual key''s requests until `enable`')
            [CompletionResult]::new('enable', 'enable', [CompletionResultType]::ParameterValue, 'Accept a disabled virtual key''s requests again')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a virtual key and its limits')
            break
        }
        'bgw;keys;help;virtual;create' {
            break
        }
        'bgw;keys;help;virtual;list' {
            break
        }
        'bgw;keys;help;virtual;show' {
            break
        }
        'bgw;keys;help;virtual;rotate' {
            break
        }
        'bgw;keys;help;virtual;disable' {
            break
        }
        'bgw;keys;help;virtual;enable' {
            break
        }
        'bgw;keys;help;virtual;rm' {
            break
        }
        'bgw;keys;help;help' {
            break
        }
        'bgw;models' {
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'Only this provider')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per model, one per line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('price', 'price', [CompletionResultType]::ParameterValue, 'Set, remove and list your own prices per model (they win over bgw''s)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;models;price' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set your price for a model, in US dollars per million tokens')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove your price for a model (back to bgw''s built-in price, or to unknown)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List your prices; with --all, bgw''s built-in prices too')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;models;price;set' {
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'US dollars per million uncached input tokens')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'US dollars per million output tokens')
            [CompletionResult]::new('--cache-read', '--cache-read', [CompletionResultType]::ParameterName, 'US dollars per million tokens read from the prompt cache [default: the price in force for it, else the input price]')
            [CompletionResult]::new('--cache-write', '--cache-write', [CompletionResultType]::ParameterName, 'US dollars per million tokens written to the prompt cache [default: the price in force for it, else the input price]')
            [CompletionResult]::new('--note', '--note', [CompletionResultType]::ParameterName, 'Why, or where the numbers come from (shown by `bgw models price list`)')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;models;price;rm' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;models;price;list' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Also list bgw''s built-in prices')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per price, one per line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;models;price;help' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set your price for a model, in US dollars per million tokens')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove your price for a model (back to bgw''s built-in price, or to unknown)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List your prices; with --all, bgw''s built-in prices too')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;models;price;help;set' {
            break
        }
        'bgw;models;price;help;rm' {
            break
        }
        'bgw;models;price;help;list' {
            break
        }
        'bgw;models;price;help;help' {
            break
        }
        'bgw;models;help' {
            [CompletionResult]::new('price', 'price', [CompletionResultType]::ParameterValue, 'Set, remove and list your own prices per model (they win over bgw''s)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;models;help;price' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set your price for a model, in US dollars per million tokens')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove your price for a model (back to bgw''s built-in price, or to unknown)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List your prices; with --all, bgw''s built-in prices too')
            break
        }
        'bgw;models;help;price;set' {
            break
        }
        'bgw;models;help;price;rm' {
            break
        }
        'bgw;models;help;price;list' {
            break
        }
        'bgw;models;help;help' {
            break
        }
        'bgw;route' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a rule: `bgw route add ab-test --when ''tier == "sonnet"'' --to ''openai/gpt-4o=70,groq/llama-3.1-70b-versatile=30''`')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the rules in the order they are searched')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one rule')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a rule')
            [CompletionResult]::new('disable', 'disable', [CompletionResultType]::ParameterValue, 'Stop using a rule (it stays stored)')
            [CompletionResult]::new('enable', 'enable', [CompletionResultType]::ParameterValue, 'Use a disabled rule again')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Show which rule a request would match, why the rules before it did not, and the targets it would try in order')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;route;add' {
            [CompletionResult]::new('--when', '--when', [CompletionResultType]::ParameterName, 'The CEL condition, e.g. `budget.used_pct > 85.0` or `model == "openai/gpt-5"`')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Where matching requests go: `provider/model`, or a weighted split `openai/gpt-4o=70,groq/llama-3.1-70b-versatile=30` (weights normalise: 70,30 = 0.7,0.3)')
            [CompletionResult]::new('--fallback', '--fallback', [CompletionResultType]::ParameterName, 'Models tried in turn when the chosen target fails (comma-separated `provider/model`s)')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Whose requests it sees: global, key:NAME, team:NAME or customer:NAME')
            [CompletionResult]::new('--priority', '--priority', [CompletionResultType]::ParameterName, 'Within its scope, rules of higher priority are searched first')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;route;list' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;route;show' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'As JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;route;rm' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;route;disable' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;route;enable' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;route;test' {
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'The model the request asks for')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The virtual key making the request (its team and customer come with it)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'A request header, `name=value` (repeatable)')
            [CompletionResult]::new('--tokens', '--tokens', [CompletionResultType]::ParameterName, 'The request''s input tokens (`tokens.input`)')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('--stream', '--stream', [CompletionResultType]::ParameterName, 'The request streams (`request.stream`)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;route;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a rule: `bgw route add ab-test --when ''tier == "sonnet"'' --to ''openai/gpt-4o=70,groq/llama-3.1-70b-versatile=30''`')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the rules in the order they are searched')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one rule')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a rule')
            [CompletionResult]::new('disable', 'disable', [CompletionResultType]::ParameterValue, 'Stop using a rule (it stays stored)')
            [CompletionResult]::new('enable', 'enable', [CompletionResultType]::ParameterValue, 'Use a disabled rule again')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Show which rule a request would match, why the rules before it did not, and the targets it would try in order')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;route;help;add' {
            break
        }
        'bgw;route;help;list' {
            break
        }
        'bgw;route;help;show' {
            break
        }
        'bgw;route;help;rm' {
            break
        }
        'bgw;route;help;disable' {
            break
        }
        'bgw;route;help;enable' {
            break
        }
        'bgw;route;help;test' {
            break
        }
        'bgw;route;help;help' {
            break
        }
        'bgw;budget' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON array instead of the table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set a budget or rate limit: `bgw budget set team eng 500/month`')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a scope''s budget and rate limits: `bgw budget rm team eng`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;budget;set' {
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Requests per period, for all the scope''s callers together (`60/min`)')
            [CompletionResult]::new('--tokens', '--tokens', [CompletionResultType]::ParameterName, 'Tokens per period, input and output (`100k/min`, `2M/day`); once per period')
            [CompletionResult]::new('--tz', '--tz', [CompletionResultType]::ParameterName, 'IANA time zone of the calendar periods (`Asia/Shanghai`) [default: UTC]')
            [CompletionResult]::new('--warn', '--warn', [CompletionResultType]::ParameterName, 'Warn from this percentage of the money budget on [default: 80] (Claude Code shows its usage warning only from 70% on; `bgw budget` and `bgw run`''s last line from this)')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;budget;rm' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;budget;help' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set a budget or rate limit: `bgw budget set team eng 500/month`')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a scope''s budget and rate limits: `bgw budget rm team eng`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;budget;help;set' {
            break
        }
        'bgw;budget;help;rm' {
            break
        }
        'bgw;budget;help;help' {
            break
        }
        'bgw;logs' {
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'Only requests served by this provider (`openai`, `groq`, …)')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Only requests for this model (the upstream model or the one asked for)')
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Only `ok` requests, only `error`s (refused or broken off), or one HTTP status (`429`)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only requests started at or after WHEN: a duration ago (`30s`, `90m`, `2h`, `7d`), a date (`2026-11-20`) or date and time (`2026-11-20T14:00`), both UTC, or RFC 3339 with `Z` or an offset')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Only requests started before WHEN (the forms of --since)')
            [CompletionResult]::new('--search', '--search', [CompletionResultType]::ParameterName, 'Only requests whose request, response or error contains TEXT (any case)')
            [CompletionResult]::new('--session', '--session', [CompletionResultType]::ParameterName, 'Only requests of one Claude Code session (its session id)')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Only requests made with this virtual key')
            [CompletionResult]::new('--team', '--team', [CompletionResultType]::ParameterName, 'Only requests of this team''s virtual keys')
            [CompletionResult]::new('--customer', '--customer', [CompletionResultType]::ParameterName, 'Only requests of this customer''s virtual keys')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Show at most N requests, the newest [default: 50 in the table, all with --json]')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Show at most N requests, the newest [default: 50 in the table, all with --json]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Print the newest requests (10, or --limit), then each new one as it is logged, from every running gateway (like `tail -f`; Ctrl-C ends it)')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Print the newest requests (10, or --limit), then each new one as it is logged, from every running gateway (like `tail -f`; Ctrl-C ends it)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per line instead of the table (newest first; with --follow, in the order they are logged)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'One request whole: timings, attempts, the request and the response')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Totals per provider, model, session, virtual key, team or customer: requests, errors, tokens, cost, latency')
            [CompletionResult]::new('settings', 'settings', [CompletionResultType]::ParameterValue, 'Show or change what the request log keeps and for how long')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;logs;show' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per line instead of the table (newest first; with --follow, in the order they are logged)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;logs;stats' {
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'Only requests served by this provider (`openai`, `groq`, …)')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Only requests for this model (the upstream model or the one asked for)')
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Only `ok` requests, only `error`s (refused or broken off), or one HTTP status (`429`)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only requests started at or after WHEN: a duration ago (`30s`, `90m`, `2h`, `7d`), a date (`2026-11-20`) or date and time (`2026-11-20T14:00`), both UTC, or RFC 3339 with `Z` or an offset')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Only requests started before WHEN (the forms of --since)')
            [CompletionResult]::new('--search', '--search', [CompletionResultType]::ParameterName, 'Only requests whose request, response or error contains TEXT (any case)')
            [CompletionResult]::new('--session', '--session', [CompletionResultType]::ParameterName, 'Only requests of one Claude Code session (its session id)')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Only requests made with this virtual key')
            [CompletionResult]::new('--team', '--team', [CompletionResultType]::ParameterName, 'Only requests of this team''s virtual keys')
            [CompletionResult]::new('--customer', '--customer', [CompletionResultType]::ParameterName, 'Only requests of this customer''s virtual keys')
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'Group the totals by this')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per line instead of the table (newest first; with --follow, in the order they are logged)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;logs;settings' {
            [CompletionResult]::new('--content', '--content', [CompletionResultType]::ParameterName, 'Keep each request''s body and response (`bgw serve --no-content` still keeps none for its own requests)')
            [CompletionResult]::new('--retention', '--retention', [CompletionResultType]::ParameterName, 'Delete rows older than this (`30d`, `8w`, a number of days), or keep them `forever`')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per line instead of the table (newest first; with --follow, in the order they are logged)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;logs;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'One request whole: timings, attempts, the request and the response')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Totals per provider, model, session, virtual key, team or customer: requests, errors, tokens, cost, latency')
            [CompletionResult]::new('settings', 'settings', [CompletionResultType]::ParameterValue, 'Show or change what the request log keeps and for how long')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;logs;help;show' {
            break
        }
        'bgw;logs;help;stats' {
            break
        }
        'bgw;logs;help;settings' {
            break
        }
        'bgw;logs;help;help' {
            break
        }
        'bgw;self-update' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Only say whether a newer release exists; change nothing')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;completions' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;store-owner' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where bgw keeps its state (one redb file) [default: the platform data directory]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'bgw;help' {
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Start a gateway and launch Claude Code through it; exits when Claude Code does')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the gateway for any Anthropic Messages client')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'Add, list and remove provider keys')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'List the models each configured provider offers')
            [CompletionResult]::new('route', 'route', [CompletionResultType]::ParameterValue, 'Routing rules: where requests go by a CEL condition, weighted splits, fallbacks')
            [CompletionResult]::new('budget', 'budget', [CompletionResultType]::ParameterValue, 'Budgets and rate limits per virtual key, team, customer, provider or in all')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Show the request log: every request, its provider, tokens, cost')
            [CompletionResult]::new('self-update', 'self-update', [CompletionResultType]::ParameterValue, 'Replace this bgw with the newest release (sha256 checked), if install.sh installed it')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the completion script for bash, zsh, fish, powershell or elvish')
            [CompletionResult]::new('store-owner', 'store-owner', [CompletionResultType]::ParameterValue, 'Hold the store file and serve other bgw processes (started by bgw itself when needed)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bgw;help;run' {
            break
        }
        'bgw;help;serve' {
            break
        }
        'bgw;help;keys' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a key for a provider')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List keys (never prints a secret)')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a key by name')
            [CompletionResult]::new('virtual', 'virtual', [CompletionResultType]::ParameterValue, 'Virtual keys: the keys bgw gives its own callers, each with its models, budget and expiry')
            break
        }
        'bgw;help;keys;add' {
            break
        }
        'bgw;help;keys;list' {
            break
        }
        'bgw;help;keys;rm' {
            break
        }
        'bgw;help;keys;virtual' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Make a virtual key; its secret is printed once, on stdout')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List virtual keys (never a secret: only its last 4 characters)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one virtual key: what it may use, its limits, its status')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Give a virtual key a new secret (printed once); the old one stops working at once')
            [CompletionResult]::new('disable', 'disable', [CompletionResultType]::ParameterValue, 'Refuse a virtual key''s requests until `enable`')
            [CompletionResult]::new('enable', 'enable', [CompletionResultType]::ParameterValue, 'Accept a disabled virtual key''s requests again')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a virtual key and its limits')
            break
        }
        'bgw;help;keys;virtual;create' {
            break
        }
        'bgw;help;keys;virtual;list' {
            break
        }
        'bgw;help;keys;virtual;show' {
            break
        }
        'bgw;help;keys;virtual;rotate' {
            break
        }
        'bgw;help;keys;virtual;disable' {
            break
        }
        'bgw;help;keys;virtual;enable' {
            break
        }
        'bgw;help;keys;virtual;rm' {
            break
        }
        'bgw;help;models' {
            [CompletionResult]::new('price', 'price', [CompletionResultType]::ParameterValue, 'Set, remove and list your own prices per model (they win over bgw''s)')
            break
        }
        'bgw;help;models;price' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set your price for a model, in US dollars per million tokens')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove your price for a model (back to bgw''s built-in price, or to unknown)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List your prices; with --all, bgw''s built-in prices too')
            break
        }
        'bgw;help;models;price;set' {
            break
        }
        'bgw;help;models;price;rm' {
            break
        }
        'bgw;help;models;price;list' {
            break
        }
        'bgw;help;route' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a rule: `bgw route add ab-test --when ''tier == "sonnet"'' --to ''openai/gpt-4o=70,groq/llama-3.1-70b-versatile=30''`')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the rules in the order they are searched')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one rule')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a rule')
            [CompletionResult]::new('disable', 'disable', [CompletionResultType]::ParameterValue, 'Stop using a rule (it stays stored)')
            [CompletionResult]::new('enable', 'enable', [CompletionResultType]::ParameterValue, 'Use a disabled rule again')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Show which rule a request would match, why the rules before it did not, and the targets it would try in order')
            break
        }
        'bgw;help;route;add' {
            break
        }
        'bgw;help;route;list' {
            break
        }
        'bgw;help;route;show' {
            break
        }
        'bgw;help;route;rm' {
            break
        }
        'bgw;help;route;disable' {
            break
        }
        'bgw;help;route;enable' {
            break
        }
        'bgw;help;route;test' {
            break
        }
        'bgw;help;budget' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set a budget or rate limit: `bgw budget set team eng 500/month`')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a scope''s budget and rate limits: `bgw budget rm team eng`')
            break
        }
        'bgw;help;budget;set' {
            break
        }
        'bgw;help;budget;rm' {
            break
        }
        'bgw;help;logs' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'One request whole: timings, attempts, the request and the response')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Totals per provider, model, session, virtual key, team or customer: requests, errors, tokens, cost, latency')
            [CompletionResult]::new('settings', 'settings', [CompletionResultType]::ParameterValue, 'Show or change what the request log keeps and for how long')
            break
        }
        'bgw;help;logs;show' {
            break
        }
        'bgw;help;logs;stats' {
            break
        }
        'bgw;help;logs;settings' {
            break
        }
        'bgw;help;self-update' {
            break
        }
        'bgw;help;completions' {
            break
        }
        'bgw;help;store-owner' {
            break
        }
        'bgw;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
