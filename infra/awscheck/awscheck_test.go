package awscheck

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const templatePath = "../aws.yaml"

// pendingSettings are TRIVIUM_* variables infra/aws.yaml sets that cmd/trivium/config.go does not
// list yet; infra/README.md ("Settings the binary must learn") says what each must do. Remove a
// name here when it is wired.
var pendingSettings = map[string]bool{}

func load(t *testing.T) *Template {
	t.Helper()
	tpl, err := Load(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestAWSTemplatePassesEveryCheck(t *testing.T) {
	tpl := load(t)
	if len(tpl.Resources) < 40 {
		t.Fatalf("only %d resources parsed", len(tpl.Resources))
	}
	for _, p := range Check(tpl) {
		t.Error(p)
	}
}

// Each mutation breaks one promise of the template; the checks must notice every one.
func TestChecksCatchEveryBrokenPromise(t *testing.T) {
	orig, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	mutations := []struct {
		name, old, new, want string
	}{
		{"a bucket with public access allowed", "RestrictPublicBuckets: true", "RestrictPublicBuckets: false", "RestrictPublicBuckets must be true"},
		{"the ALB's default idle timeout", `idle_timeout.timeout_seconds, Value: "3600"`, `idle_timeout.timeout_seconds, Value: "60"`, "idle_timeout"},
		{"a log group kept forever", "      RetentionInDays: !Ref LogRetentionDays\n", "", "no RetentionInDays"},
		{"a GetAtt of a missing resource", "Resource: !GetAtt UploadEventsQueue.Arn", "Resource: !GetAtt UploadEventQueue.Arn", `GetAtt [UploadEventQueue Arn]`},
		{"a Ref of a missing parameter", "Subnets: !Ref PublicSubnetIds", "Subnets: !Ref PublicSubnets", `Ref "PublicSubnets"`},
		{"a Sub variable of a missing resource", `"${UploadsBucket.Arn}/uploads/*"`, `"${UploadBucket.Arn}/uploads/*"`, `"UploadBucket" is not a resource`},
		{"a Sub variable of a missing parameter", `parameter/trivium/${EnvName}/token-key"`, `parameter/trivium/${Env}/token-key"`, "${Env} in Sub"},
		{"an undefined condition", "!If [HasCdnDomain,", "!If [HasCdn,", `condition "HasCdn"`},
		{"SQS actions on every queue", "sqs:GetQueueAttributes]\n                Resource: !GetAtt UploadEventsQueue.Arn", "sqs:GetQueueAttributes]\n                Resource: \"*\"", `sqs:ReceiveMessage on resource "*"`},
		{"S3 actions on every bucket", "Resource: !Sub \"${AvatarsBucket.Arn}/public/*\"\n\n  ModerationTaskRole", "Resource: \"arn:aws:s3:::*\"\n\n  ModerationTaskRole", `s3:GetObject on resource "arn:aws:s3:::*"`},
		{"SSM parameters of any account", "ssm:${AWS::Region}:${AWS::AccountId}:parameter/trivium/${EnvName}/token-key\"\n", "ssm:${AWS::Region}:*:parameter/trivium/${EnvName}/token-key\"\n", "ssm:GetParameters on resource"},
		{"a wildcard action", "Action: [s3:GetObject, s3:DeleteObject]", "Action: [\"s3:*\"]", `wildcard action "s3:*"`},
		{"a managed policy", "      Policies:\n        - PolicyName: trivium-nats", "      ManagedPolicyArns: [arn:aws:iam::aws:policy/AdministratorAccess]\n      Policies:\n        - PolicyName: trivium-nats", "ManagedPolicyArns"},
		{"CloudFront reads without SourceArn", "              StringEquals:\n                AWS:SourceArn: !Sub \"arn:${AWS::Partition}:cloudfront", "              StringEquals:\n                aws:Referer: !Sub \"arn:${AWS::Partition}:cloudfront", "without an aws:SourceArn or aws:SourceAccount"},
		{"a public bucket policy", "            Principal:\n              Service: cloudfront.amazonaws.com\n            Action: s3:GetObject\n            Resource: !Sub \"${AvatarsBucket.Arn}/public/avatars/*\"\n            Condition:\n              StringEquals:\n                AWS:SourceArn", "            Principal: \"*\"\n            Action: s3:GetObject\n            Resource: !Sub \"${AvatarsBucket.Arn}/public/avatars/*\"\n            Condition:\n              StringEquals:\n                aws:UserAgent", `Principal "*" (public)`},
		{"X-Forwarded-For passed through from the client", `xff_header_processing.mode, Value: "append"`, `xff_header_processing.mode, Value: "preserve"`, "xff_header_processing.mode"},
		{"X-Forwarded-For handling left to the default", "        - {Key: routing.http.xff_header_processing.mode, Value: \"append\"}\n", "", "xff_header_processing.mode is <nil>"},
		{"sticky sessions", `stickiness.enabled, Value: "false"`, `stickiness.enabled, Value: "true"`, "sticky sessions"},
		{"a health check off /readyz", "HealthCheckPath: /readyz", "HealthCheckPath: /", "HealthCheckPath"},
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			if !strings.Contains(string(orig), m.old) {
				t.Fatalf("mutation no longer applies: %q not in the template", m.old)
			}
			tpl, err := Parse([]byte(strings.Replace(string(orig), m.old, m.new, 1)))
			if err != nil {
				t.Fatal(err)
			}
			problems := Check(tpl)
			for _, p := range problems {
				if strings.Contains(p, m.want) {
					return
				}
			}
			t.Fatalf("no problem mentioning %q; got %q", m.want, problems)
		})
	}
}

func TestShortTagsAreExpanded(t *testing.T) {
	tpl, err := Parse([]byte(`
Parameters:
  P: {Type: String}
Conditions:
  C: !Equals [!Ref P, x]
Resources:
  R:
    Type: AWS::SQS::Queue
    Properties:
      A: !GetAtt R.Arn
      B: !Sub ["${X}-${!Literal}-${AWS::Region}", {X: !Ref P}]
      D: !If [C, !GetAtt [R, QueueName], !Ref AWS::NoValue]
`))
	if err != nil {
		t.Fatal(err)
	}
	props := tpl.Resources["R"].Properties
	if got := mapOf(props["A"])["Fn::GetAtt"]; !slices.Equal(listOf(got), []any{"R", "Arn"}) {
		t.Fatalf("!GetAtt R.Arn = %v", props["A"])
	}
	if p := Check(tpl); len(p) != 0 {
		t.Fatalf("problems in a valid template: %q", p)
	}
}

func TestTemplateRoutesUploadEventsThroughEventBridgeToAQueueWithADeadLetterQueue(t *testing.T) {
	tpl := load(t)
	up := tpl.Resources["UploadsBucket"].Properties
	if !isTrue(mapOf(mapOf(up["NotificationConfiguration"])["EventBridgeConfiguration"])["EventBridgeEnabled"]) {
		t.Error("uploads bucket does not send events to EventBridge")
	}
	rule := tpl.Resources["UploadCreatedRule"].Properties
	pattern := mapOf(rule["EventPattern"])
	if !slices.Equal(listOf(pattern["detail-type"]), []any{"Object Created"}) || !slices.Equal(listOf(pattern["source"]), []any{"aws.s3"}) {
		t.Errorf("rule pattern %v is not S3 Object Created", pattern)
	}
	key := listOf(mapOf(mapOf(pattern["detail"])["object"])["key"])
	if len(key) != 1 || mapOf(key[0])["prefix"] != "uploads/" {
		t.Errorf("rule does not filter on the uploads/ prefix: %v", key)
	}
	target := mapOf(listOf(rule["Targets"])[0])["Arn"]
	if !slices.Equal(listOf(mapOf(target)["Fn::GetAtt"]), []any{"UploadEventsQueue", "Arn"}) {
		t.Errorf("rule target %v is not the upload events queue", target)
	}
	q := tpl.Resources["UploadEventsQueue"].Properties
	redrive := mapOf(q["RedrivePolicy"])
	if !slices.Equal(listOf(mapOf(redrive["deadLetterTargetArn"])["Fn::GetAtt"]), []any{"UploadEventsDLQ", "Arn"}) || redrive["maxReceiveCount"] == nil {
		t.Errorf("queue redrive policy %v does not send to the DLQ", redrive)
	}
	if q["ReceiveMessageWaitTimeSeconds"] != 20 || q["VisibilityTimeout"] != 60 {
		t.Errorf("queue wait %v / visibility %v differ from services/sqsevents' defaults (20, 60)", q["ReceiveMessageWaitTimeSeconds"], q["VisibilityTimeout"])
	}
	rules := listOf(mapOf(up["LifecycleConfiguration"])["Rules"])
	if len(rules) == 0 || mapOf(rules[0])["Prefix"] != "uploads/" || mapOf(rules[0])["ExpirationInDays"] != 1 {
		t.Errorf("uploads lifecycle %v does not expire uploads/ after a day", rules)
	}
	cors := listOf(mapOf(up["CorsConfiguration"])["CorsRules"])
	if len(cors) != 1 || !slices.Equal(listOf(mapOf(cors[0])["AllowedMethods"]), []any{"PUT"}) ||
		mapOf(mapOf(cors[0])["AllowedOrigins"])["Ref"] != "AllowedOrigins" {
		t.Errorf("uploads CORS %v is not PUT-only from AllowedOrigins", cors)
	}
}

// Every TRIVIUM_* variable a task sets must be a setting of cmd/trivium/config.go (or one the
// README lists as pending), and together the services must run every role.
func TestServicesSetOnlyKnownSettingsAndRunEveryRole(t *testing.T) {
	src, err := os.ReadFile("../../cmd/trivium/config.go")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`"(TRIVIUM_[A-Z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		known[m[1]] = true
	}
	if !known["TRIVIUM_DB"] || !known["TRIVIUM_ROLES"] {
		t.Fatalf("could not read the settings of config.go: %v", known)
	}
	for name := range pendingSettings {
		if known[name] {
			t.Errorf("%s is now in config.go: drop it from pendingSettings and from the README's pending list", name)
		}
	}
	tpl := load(t)
	roles := map[string]bool{}
	for _, name := range sortedKeys(tpl.Resources) {
		r := tpl.Resources[name]
		if r.Type != "AWS::ECS::TaskDefinition" {
			continue
		}
		for _, c := range listOf(r.Properties["ContainerDefinitions"]) {
			cd := mapOf(c)
			if cd["Name"] != "trivium" {
				continue
			}
			env := map[string]any{}
			for _, e := range listOf(cd["Environment"]) {
				n, _ := mapOf(e)["Name"].(string)
				env[n] = mapOf(e)["Value"]
				if strings.HasPrefix(n, "TRIVIUM_") && !known[n] && !pendingSettings[n] {
					t.Errorf("%s sets %s, which cmd/trivium/config.go does not know", name, n)
				}
			}
			for _, k := range []string{"TRIVIUM_DB", "TRIVIUM_BUS", "TRIVIUM_LEADERBOARD", "TRIVIUM_ROLES", "TRIVIUM_TRUST_PROXY", "TRIVIUM_ALLOWED_ORIGINS", "TRIVIUM_CDN_URL"} {
				if env[k] == nil {
					t.Errorf("%s does not set %s", name, k)
				}
			}
			rs, _ := env["TRIVIUM_ROLES"].(string)
			for _, role := range strings.Split(rs, ",") {
				roles[role] = true
			}
			for _, s := range listOf(cd["Secrets"]) {
				n, _ := mapOf(s)["Name"].(string)
				if strings.HasPrefix(n, "TRIVIUM_SECRET_") || n == "PGPASSWORD" {
					continue
				}
				t.Errorf("%s injects unexpected secret %s", name, n)
			}
		}
	}
	for _, role := range []string{"gateway", "api", "moderation", "notifier", "leaderboard"} {
		if !roles[role] {
			t.Errorf("no service runs role %s", role)
		}
	}
}
