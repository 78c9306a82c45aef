package awscheck

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// PseudoParameters are the names !Ref and ${} may use without declaring them.
var PseudoParameters = map[string]bool{
	"AWS::AccountId": true, "AWS::NotificationARNs": true, "AWS::NoValue": true, "AWS::Partition": true,
	"AWS::Region": true, "AWS::StackId": true, "AWS::StackName": true, "AWS::URLSuffix": true,
}

// UnscopedActions may be granted on Resource "*" because the service has no resource-level
// permissions for them. Anything else must name its resources.
var UnscopedActions = map[string]bool{
	"rekognition:DetectModerationLabels": true, // Rekognition: no resource types for this action
	"ecr:GetAuthorizationToken":          true, // registry login, account-wide by design
}

// MinIdleTimeout is the least ALB idle timeout that keeps quiet WebSocket games connected.
const MinIdleTimeout = 300

// Check runs every check and returns the problems found, one sentence each.
func Check(t *Template) []string {
	var p []string
	p = append(p, CheckReferences(t)...)
	p = append(p, CheckIAM(t)...)
	p = append(p, CheckResourcePolicies(t)...)
	p = append(p, CheckBuckets(t)...)
	p = append(p, CheckLoadBalancers(t)...)
	p = append(p, CheckLogs(t)...)
	return p
}

// CheckReferences reports every Ref, GetAtt, ${} in Sub, condition name and DependsOn that does
// not resolve to a parameter, resource, pseudo parameter or condition of the template.
func CheckReferences(t *Template) []string {
	var p []string
	for _, name := range sortedKeys(t.Resources) {
		r := t.Resources[name]
		where := "Resources." + name
		if r.Condition != "" && t.Conditions[r.Condition] == nil {
			p = append(p, fmt.Sprintf("%s: Condition %q is not defined", where, r.Condition))
		}
		for _, d := range r.DependsOn {
			if _, ok := t.Resources[d]; !ok {
				p = append(p, fmt.Sprintf("%s: DependsOn %q is not a resource", where, d))
			}
		}
		p = append(p, t.refs(where, r.Properties, nil)...)
	}
	for _, name := range sortedKeys(t.Conditions) {
		p = append(p, t.refs("Conditions."+name, t.Conditions[name], nil)...)
	}
	for _, name := range sortedKeys(t.Outputs) {
		p = append(p, t.refs("Outputs."+name, t.Outputs[name], nil)...)
	}
	return p
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// refs walks v; locals are the variables of an enclosing Fn::Sub's map.
func (t *Template) refs(where string, v any, locals map[string]any) []string {
	var p []string
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			p = append(p, t.refs(fmt.Sprintf("%s[%d]", where, i), e, locals)...)
		}
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if problems, ok := t.intrinsic(where, k, arg); ok {
					return problems
				}
			}
		}
		for _, k := range sortedKeys(x) {
			p = append(p, t.refs(where+"."+k, x[k], locals)...)
		}
	}
	return p
}

// intrinsic checks one intrinsic function call; ok is false when k is not one.
func (t *Template) intrinsic(where, k string, arg any) (p []string, ok bool) {
	switch k {
	case "Ref":
		name, _ := arg.(string)
		if !t.isParameter(name) && !t.isResource(name) && !PseudoParameters[name] {
			p = append(p, fmt.Sprintf("%s: Ref %q is not a parameter, resource or pseudo parameter", where, name))
		}
		return p, true
	case "Condition":
		if name, isString := arg.(string); isString {
			if t.Conditions[name] == nil {
				p = append(p, fmt.Sprintf("%s: condition %q is not defined", where, name))
			}
			return p, true
		}
		return nil, false // an IAM statement's Condition block, not the intrinsic
	case "Fn::GetAtt":
		l := listOf(arg)
		if s, isString := arg.(string); isString {
			res, attr, _ := strings.Cut(s, ".")
			l = []any{res, attr}
		}
		res, _ := l[0].(string)
		if len(l) != 2 || !t.isResource(res) {
			p = append(p, fmt.Sprintf("%s: GetAtt %v does not name a resource of this template", where, arg))
		}
		return p, true
	case "Fn::If":
		l := listOf(arg)
		if len(l) != 3 {
			return []string{fmt.Sprintf("%s: Fn::If needs [condition, then, else]", where)}, true
		}
		if name, _ := l[0].(string); t.Conditions[name] == nil {
			p = append(p, fmt.Sprintf("%s: Fn::If condition %q is not defined", where, l[0]))
		}
		p = append(p, t.refs(where+"(then)", l[1], nil)...)
		p = append(p, t.refs(where+"(else)", l[2], nil)...)
		return p, true
	case "Fn::Sub":
		var str string
		locals := map[string]any{}
		switch a := arg.(type) {
		case string:
			str = a
		case []any:
			if len(a) != 2 {
				return []string{fmt.Sprintf("%s: Fn::Sub list form needs [string, variables]", where)}, true
			}
			str, _ = a[0].(string)
			locals = mapOf(a[1])
			for _, name := range sortedKeys(locals) {
				p = append(p, t.refs(where+".$"+name, locals[name], nil)...)
			}
		}
		for _, m := range subVar.FindAllStringSubmatch(str, -1) {
			name := m[1]
			if strings.HasPrefix(name, "!") {
				continue // ${!Literal} is an escaped literal
			}
			if _, local := locals[name]; local {
				continue
			}
			if res, _, dotted := strings.Cut(name, "."); dotted && !PseudoParameters[name] {
				if !t.isResource(res) {
					p = append(p, fmt.Sprintf("%s: ${%s} in Sub: %q is not a resource", where, name, res))
				}
				continue
			}
			if !t.isParameter(name) && !t.isResource(name) && !PseudoParameters[name] {
				p = append(p, fmt.Sprintf("%s: ${%s} in Sub is not a parameter, resource or pseudo parameter", where, name))
			}
		}
		return p, true
	}
	if strings.HasPrefix(k, "Fn::") {
		return t.refs(where+"."+k, arg, nil), true
	}
	return nil, false
}

func (t *Template) isParameter(name string) bool { _, ok := t.Parameters[name]; return ok }
func (t *Template) isResource(name string) bool  { _, ok := t.Resources[name]; return ok }

// statements returns the Allow and Deny statements of a policy document.
func statements(doc any) []map[string]any {
	var out []map[string]any
	for _, s := range listOf(mapOf(doc)["Statement"]) {
		out = append(out, mapOf(s))
	}
	return out
}

// CheckIAM reports identity-policy statements that grant wildcard actions, use NotAction or
// NotResource, or grant Resource "*" (or an ARN wildcarded before its resource part) for an
// action that supports resource-level permissions. Roles must not attach managed policies, whose
// contents the template does not show.
func CheckIAM(t *Template) []string {
	var p []string
	for _, name := range sortedKeys(t.Resources) {
		r := t.Resources[name]
		var docs []any
		switch r.Type {
		case "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group":
			if r.Properties["ManagedPolicyArns"] != nil {
				p = append(p, fmt.Sprintf("Resources.%s: ManagedPolicyArns hides what is granted; write the statements inline", name))
			}
			for _, pol := range listOf(r.Properties["Policies"]) {
				docs = append(docs, mapOf(pol)["PolicyDocument"])
			}
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			docs = append(docs, r.Properties["PolicyDocument"])
		default:
			continue
		}
		for _, doc := range docs {
			for i, st := range statements(doc) {
				where := fmt.Sprintf("Resources.%s statement %d (%v)", name, i, st["Sid"])
				if st["NotAction"] != nil || st["NotResource"] != nil {
					p = append(p, where+": NotAction/NotResource grant more than they say")
				}
				if st["Effect"] != "Allow" {
					continue
				}
				var actions []string
				for _, a := range listOf(st["Action"]) {
					s, _ := a.(string)
					actions = append(actions, s)
					if strings.Contains(s, "*") {
						p = append(p, fmt.Sprintf("%s: wildcard action %q", where, s))
					}
				}
				for _, res := range listOf(st["Resource"]) {
					if wildcard := wildcardResource(res); wildcard != "" {
						for _, a := range actions {
							if !UnscopedActions[a] || wildcard != "*" {
								p = append(p, fmt.Sprintf("%s: %s on resource %q; name the specific resource", where, a, wildcard))
							}
						}
					}
				}
			}
		}
	}
	return p
}

// wildcardResource returns the resource string when it is "*" or an ARN wildcarded before its
// resource part (any partition, service, region or account); "" for a specific resource.
// Wildcards inside the resource part (bucket/prefix/*) are a prefix, which is specific.
func wildcardResource(res any) string {
	s, isString := res.(string)
	if !isString {
		m := mapOf(res)
		if sub, ok := m["Fn::Sub"]; ok {
			s, isString = sub.(string)
			if l, isList := sub.([]any); isList && len(l) > 0 {
				s, isString = l[0].(string)
			}
		}
		if !isString {
			return "" // Ref or GetAtt of a resource: specific by construction
		}
	}
	if s == "*" {
		return s
	}
	if strings.HasPrefix(s, "arn:") {
		// ${AWS::Region} and friends hold colons of their own; a variable is one specific value.
		parts := strings.SplitN(subVar.ReplaceAllString(s, "v"), ":", 6)
		if len(parts) < 6 {
			return s
		}
		for _, part := range parts[:5] {
			if strings.Contains(part, "*") {
				return s
			}
		}
		if strings.HasPrefix(parts[5], "*") || parts[5] == "" {
			return s
		}
	}
	return ""
}

// CheckResourcePolicies reports bucket and queue policies that allow everyone ("*"), unless the
// grant is conditioned on aws:SourceArn, and AWS service principals allowed without
// aws:SourceArn or aws:SourceAccount (the confused-deputy guard).
func CheckResourcePolicies(t *Template) []string {
	var p []string
	for _, name := range sortedKeys(t.Resources) {
		r := t.Resources[name]
		if r.Type != "AWS::S3::BucketPolicy" && r.Type != "AWS::SQS::QueuePolicy" {
			continue
		}
		for i, st := range statements(r.Properties["PolicyDocument"]) {
			if st["Effect"] != "Allow" {
				continue
			}
			where := fmt.Sprintf("Resources.%s statement %d (%v)", name, i, st["Sid"])
			if st["NotPrincipal"] != nil {
				p = append(p, where+": NotPrincipal allows everyone else")
			}
			public, service := principalKinds(st["Principal"])
			bySource := conditionHas(st["Condition"], "aws:sourcearn")
			switch {
			case public && !bySource:
				p = append(p, where+": allows Principal \"*\" (public) without an aws:SourceArn condition")
			case service && !bySource && !conditionHas(st["Condition"], "aws:sourceaccount"):
				p = append(p, where+": allows an AWS service without an aws:SourceArn or aws:SourceAccount condition")
			}
		}
	}
	return p
}

func principalKinds(pr any) (public, service bool) {
	if s, ok := pr.(string); ok {
		return s == "*", false
	}
	m := mapOf(pr)
	for _, v := range listOf(m["AWS"]) {
		if v == "*" {
			public = true
		}
	}
	return public, m["Service"] != nil
}

// conditionHas reports whether a statement's Condition block tests key (any operator).
func conditionHas(cond any, key string) bool {
	for _, op := range mapOf(cond) {
		for k := range mapOf(op) {
			if strings.EqualFold(k, key) {
				return true
			}
		}
	}
	return false
}

// CheckBuckets reports buckets without all four Block Public Access settings on, and buckets
// granting public ACLs.
func CheckBuckets(t *Template) []string {
	var p []string
	for _, name := range sortedKeys(t.Resources) {
		r := t.Resources[name]
		if r.Type != "AWS::S3::Bucket" {
			continue
		}
		pab := mapOf(r.Properties["PublicAccessBlockConfiguration"])
		for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
			if !isTrue(pab[k]) {
				p = append(p, fmt.Sprintf("Resources.%s: PublicAccessBlockConfiguration.%s must be true (no public access)", name, k))
			}
		}
		if acl, _ := r.Properties["AccessControl"].(string); acl != "" && acl != "Private" && acl != "BucketOwnerFullControl" {
			p = append(p, fmt.Sprintf("Resources.%s: AccessControl %s makes the bucket public", name, acl))
		}
		if r.Properties["BucketEncryption"] == nil {
			p = append(p, fmt.Sprintf("Resources.%s: no BucketEncryption", name))
		}
	}
	return p
}

func isTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}

// CheckLoadBalancers reports application load balancers whose idle timeout would cut quiet
// WebSockets or whose X-Forwarded-For handling is not set to append, and target groups with sticky sessions or without the /readyz health check.
func CheckLoadBalancers(t *Template) []string {
	var p []string
	for _, name := range sortedKeys(t.Resources) {
		r := t.Resources[name]
		switch r.Type {
		case "AWS::ElasticLoadBalancingV2::LoadBalancer":
			if typ, _ := r.Properties["Type"].(string); typ != "" && typ != "application" {
				continue
			}
			idle := attribute(r.Properties["LoadBalancerAttributes"], "idle_timeout.timeout_seconds")
			if n, err := strconv.Atoi(fmt.Sprint(idle)); err != nil || n < MinIdleTimeout {
				p = append(p, fmt.Sprintf("Resources.%s: idle_timeout.timeout_seconds is %v; WebSockets need at least %d (the default 60 cuts quiet games)", name, idle, MinIdleTimeout))
			}
			// The tasks trust one proxy hop (TRIVIUM_TRUST_PROXY=1): that is right only when the
			// ALB appends the client's address; "preserve" would pass a client-sent header through.
			if xff := attribute(r.Properties["LoadBalancerAttributes"], "routing.http.xff_header_processing.mode"); xff != "append" {
				p = append(p, fmt.Sprintf("Resources.%s: routing.http.xff_header_processing.mode is %v; set it to append explicitly (TRIVIUM_TRUST_PROXY=1 takes the right-most hop)", name, xff))
			}
		case "AWS::ElasticLoadBalancingV2::TargetGroup":
			if isTrue(attribute(r.Properties["TargetGroupAttributes"], "stickiness.enabled")) {
				p = append(p, fmt.Sprintf("Resources.%s: sticky sessions are on; any gateway must serve any request", name))
			}
			if r.Properties["HealthCheckPath"] != "/readyz" {
				p = append(p, fmt.Sprintf("Resources.%s: HealthCheckPath is %v, want /readyz", name, r.Properties["HealthCheckPath"]))
			}
		}
	}
	return p
}

func attribute(attrs any, key string) any {
	for _, a := range listOf(attrs) {
		m := mapOf(a)
		if m["Key"] == key {
			return m["Value"]
		}
	}
	return nil
}

// CheckLogs reports log groups without RetentionInDays and awslogs containers that write to a
// group this template does not create (and so does not give a retention).
func CheckLogs(t *Template) []string {
	var p []string
	for _, name := range sortedKeys(t.Resources) {
		r := t.Resources[name]
		switch r.Type {
		case "AWS::Logs::LogGroup":
			if r.Properties["RetentionInDays"] == nil {
				p = append(p, fmt.Sprintf("Resources.%s: no RetentionInDays; logs would be kept forever", name))
			}
		case "AWS::ECS::TaskDefinition":
			for _, c := range listOf(r.Properties["ContainerDefinitions"]) {
				lc := mapOf(mapOf(c)["LogConfiguration"])
				cname := mapOf(c)["Name"]
				if lc["LogDriver"] != "awslogs" {
					p = append(p, fmt.Sprintf("Resources.%s container %v: LogDriver is %v, want awslogs", name, cname, lc["LogDriver"]))
					continue
				}
				group := mapOf(mapOf(lc["Options"])["awslogs-group"])
				ref, _ := group["Ref"].(string)
				if t.Resources[ref].Type != "AWS::Logs::LogGroup" {
					p = append(p, fmt.Sprintf("Resources.%s container %v: awslogs-group must be !Ref of a log group of this template", name, cname))
				}
			}
		}
	}
	return p
}
