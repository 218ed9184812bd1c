package trail

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athenatypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
)

// AthenaTable describes the archive as an Athena table with partition projection over the key
// layout, so queries read only the account, region and day prefixes they name. The day
// partition is called dt ("yyyy/MM/dd"): DAY is a keyword in Athena's SQL.
type AthenaTable struct {
	Name     string // database.table or table
	Bucket   string
	Prefix   string
	OrgID    string
	Accounts []string // enum projection; empty = injected (queries must name the account)
	Regions  []string // enum projection; empty = all commercial regions
	From     time.Time
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// DefaultRegions are the commercial regions for region projection.
var DefaultRegions = []string{"af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "ca-central-1", "ca-west-1",
	"eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1",
	"me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2"}

// quote makes s a SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// DDL is the CREATE TABLE statement.
func (t AthenaTable) DDL() (string, error) {
	if !identRE.MatchString(t.Name) {
		return "", fmt.Errorf("invalid table name %q", t.Name)
	}
	if t.Bucket == "" {
		return "", errors.New("the table needs the archive bucket")
	}
	for _, a := range t.Accounts {
		if !accountRE.MatchString(a) {
			return "", fmt.Errorf("invalid account id %q", a)
		}
	}
	regions := t.Regions
	if len(regions) == 0 {
		regions = DefaultRegions
	}
	for _, r := range regions {
		if !regexp.MustCompile(`^[a-z0-9-]+$`).MatchString(r) {
			return "", fmt.Errorf("invalid region %q", r)
		}
	}
	from := t.From
	if from.IsZero() {
		from = time.Now().UTC().AddDate(-1, 0, 0)
	}
	base := "s3://" + t.Bucket + "/" + basePrefix(t.Prefix, t.OrgID)
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE EXTERNAL TABLE IF NOT EXISTS %s (\n", t.Name)
	b.WriteString(`    eventversion STRING,
    useridentity STRUCT<
        type: STRING, principalid: STRING, arn: STRING, accountid: STRING, invokedby: STRING,
        accesskeyid: STRING, username: STRING,
        onbehalfof: STRUCT<userid: STRING, identitystorearn: STRING>,
        sessioncontext: STRUCT<
            attributes: STRUCT<mfaauthenticated: STRING, creationdate: STRING>,
            sessionissuer: STRUCT<type: STRING, principalid: STRING, arn: STRING, accountid: STRING, username: STRING>,
            ec2roledelivery: STRING, sourceidentity: STRING>>,
    eventtime STRING,
    eventsource STRING,
    eventname STRING,
    awsregion STRING,
    sourceipaddress STRING,
    useragent STRING,
    errorcode STRING,
    errormessage STRING,
    requestparameters STRING,
    responseelements STRING,
    additionaleventdata STRING,
    requestid STRING,
    eventid STRING,
    readonly STRING,
    resources ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>,
    eventtype STRING,
    apiversion STRING,
    recipientaccountid STRING,
    serviceeventdetails STRING,
    sharedeventid STRING,
    vpcendpointid STRING,
    eventcategory STRING,
    tlsdetails STRUCT<tlsversion: STRING, ciphersuite: STRING, clientprovidedhostheader: STRING>
)
PARTITIONED BY (account STRING, region STRING, dt STRING)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
`)
	fmt.Fprintf(&b, "LOCATION %s\nTBLPROPERTIES (\n", quote(base))
	b.WriteString("    'projection.enabled' = 'true',\n")
	if len(t.Accounts) > 0 {
		fmt.Fprintf(&b, "    'projection.account.type' = 'enum',\n    'projection.account.values' = %s,\n", quote(strings.Join(t.Accounts, ",")))
	} else {
		b.WriteString("    'projection.account.type' = 'injected',\n")
	}
	fmt.Fprintf(&b, "    'projection.region.type' = 'enum',\n    'projection.region.values' = %s,\n", quote(strings.Join(regions, ",")))
	fmt.Fprintf(&b, "    'projection.dt.type' = 'date',\n    'projection.dt.format' = 'yyyy/MM/dd',\n    'projection.dt.range' = %s,\n", quote(from.Format("2006/01/02")+",NOW"))
	b.WriteString("    'projection.dt.interval' = '1',\n    'projection.dt.interval.unit' = 'DAYS',\n")
	fmt.Fprintf(&b, "    'storage.location.template' = %s\n);\n", quote(base+"${account}/CloudTrail/${region}/${dt}"))
	return b.String(), nil
}

// columns maps yagura's JSON paths to the table's columns; paths under the JSON-text columns
// are read with json_extract_scalar.
var columns = map[string]string{
	"eventVersion": "eventversion", "eventTime": "eventtime", "eventSource": "eventsource", "eventName": "eventname",
	"awsRegion": "awsregion", "sourceIPAddress": "sourceipaddress", "userAgent": "useragent", "errorCode": "errorcode",
	"errorMessage": "errormessage", "requestID": "requestid", "eventID": "eventid", "readOnly": "readonly",
	"eventType": "eventtype", "apiVersion": "apiversion", "recipientAccountId": "recipientaccountid",
	"sharedEventID": "sharedeventid", "vpcEndpointId": "vpcendpointid", "eventCategory": "eventcategory",
	"userIdentity.type": "useridentity.type", "userIdentity.principalId": "useridentity.principalid",
	"userIdentity.arn": "useridentity.arn", "userIdentity.accountId": "useridentity.accountid",
	"userIdentity.invokedBy": "useridentity.invokedby", "userIdentity.accessKeyId": "useridentity.accesskeyid",
	"userIdentity.userName":                                   "useridentity.username",
	"userIdentity.sessionContext.attributes.mfaAuthenticated": "useridentity.sessioncontext.attributes.mfaauthenticated",
	"userIdentity.sessionContext.sessionIssuer.type":          "useridentity.sessioncontext.sessionissuer.type",
	"userIdentity.sessionContext.sessionIssuer.arn":           "useridentity.sessioncontext.sessionissuer.arn",
	"userIdentity.sessionContext.sessionIssuer.accountId":     "useridentity.sessioncontext.sessionissuer.accountid",
	"userIdentity.sessionContext.sessionIssuer.userName":      "useridentity.sessioncontext.sessionissuer.username",
	"tlsDetails.tlsVersion":                                   "tlsdetails.tlsversion",
}

var jsonColumns = map[string]string{"requestParameters": "requestparameters", "responseElements": "responseelements",
	"additionalEventData": "additionaleventdata", "serviceEventDetails": "serviceeventdetails"}

// arraySegments are keys that hold JSON arrays in CloudTrail records; a path through them is
// searched element-wise by yagura, which json_extract_scalar cannot do.
var arraySegments = map[string]bool{"items": true, "Statement": true, "eventSelectors": true, "advancedEventSelectors": true,
	"fieldSelectors": true, "Grant": true, "resources": true, "tagSet": true, "policyArns": true}

var jsonKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func columnFor(path string) (string, error) {
	if c, ok := columns[path]; ok {
		return c, nil
	}
	head, rest, ok := strings.Cut(path, ".")
	if col, isJSON := jsonColumns[head]; isJSON && ok {
		var jp strings.Builder
		jp.WriteString("$")
		for _, seg := range strings.Split(rest, ".") {
			if arraySegments[seg] {
				return "", fmt.Errorf("field %s passes through a JSON array, which Athena cannot search element-wise here", path)
			}
			if !jsonKeyRE.MatchString(seg) {
				return "", fmt.Errorf("field %s has a key Athena's JSON path cannot name", path)
			}
			jp.WriteString("." + seg)
		}
		return "json_extract_scalar(" + col + ", " + quote(jp.String()) + ")", nil
	}
	return "", fmt.Errorf("field %s has no column in the CloudTrail table", path)
}

// likePattern turns a Sigma-style pattern into a LIKE pattern with \ as escape.
func likePattern(s string) (string, bool) {
	var b strings.Builder
	wild := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\'):
			i++
			if s[i] == '\\' {
				b.WriteString(`\\`)
			} else {
				b.WriteByte(s[i])
			}
		case c == '*':
			b.WriteByte('%')
			wild = true
		case c == '?':
			b.WriteByte('_')
			wild = true
		case c == '%' || c == '_' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), wild
}

// stringCond compares a column with user values case-insensitively, wildcards allowed.
func stringCond(col string, vals []string) string {
	var ors []string
	var eq []string
	for _, v := range vals {
		p, wild := likePattern(strings.ToLower(v))
		if wild {
			ors = append(ors, "lower("+col+") LIKE "+quote(p)+` ESCAPE '\'`)
		} else {
			eq = append(eq, quote(strings.ToLower(v)))
		}
	}
	if len(eq) == 1 {
		ors = append(ors, "lower("+col+") = "+eq[0])
	} else if len(eq) > 1 {
		ors = append(ors, "lower("+col+") IN ("+strings.Join(eq, ", ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// windowConds prunes partitions by day and filters by event time.
func windowConds(w Window) []string {
	var c []string
	if !w.Since.IsZero() {
		c = append(c, "dt >= "+quote(w.Since.UTC().Format("2006/01/02")), "eventtime >= "+quote(w.Since.UTC().Format(time.RFC3339)))
	}
	if !w.Until.IsZero() {
		c = append(c, "dt <= "+quote(w.Until.UTC().Add(logSlack).Format("2006/01/02")), "eventtime <= "+quote(w.Until.UTC().Format(time.RFC3339)))
	}
	if len(w.Accounts) > 0 {
		c = append(c, stringCond("account", w.Accounts))
	}
	if len(w.Regions) > 0 {
		c = append(c, stringCond("region", w.Regions))
	}
	return c
}

// SearchSQL translates search filters to a query over the table.
func SearchSQL(table string, f *Filter, w Window, limit int) (string, error) {
	if !identRE.MatchString(table) {
		return "", fmt.Errorf("invalid table name %q", table)
	}
	conds := windowConds(w)
	add := func(col string, vals []string) {
		if len(vals) > 0 {
			conds = append(conds, stringCond(col, vals))
		}
	}
	add("eventname", f.EventNames)
	add("eventsource", f.EventSources)
	add("useridentity.accesskeyid", f.AccessKeys)
	add("recipientaccountid", f.Accounts)
	add("awsregion", f.Regions)
	add("errorcode", f.ErrorCodes)
	if len(f.Principals) > 0 {
		var ors []string
		for _, p := range principalPaths {
			col, _ := columnFor(p)
			ors = append(ors, stringCond(col, f.Principals))
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	if len(f.SourceIPs) > 0 {
		var ors []string
		for _, s := range f.SourceIPs {
			if strings.Contains(s, "/") {
				if _, err := parsePrefix(s); err != nil {
					return "", err
				}
				ors = append(ors, "contains("+quote(s)+", TRY_CAST(sourceipaddress AS IPADDRESS))")
			} else {
				ors = append(ors, stringCond("sourceipaddress", []string{s}))
			}
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	q := "SELECT eventtime, recipientaccountid, awsregion, eventsource, eventname, useridentity.arn AS principal, sourceipaddress, errorcode\nFROM " + table
	if len(conds) > 0 {
		q += "\nWHERE " + strings.Join(conds, "\n  AND ")
	}
	q += "\nORDER BY eventtime"
	if limit > 0 {
		q += "\nLIMIT " + strconv.Itoa(limit)
	}
	return q + ";", nil
}

// CountSQL is SearchSQL aggregated by one field.
func CountSQL(table string, f *Filter, w Window, field string) (string, error) {
	col, err := columnFor(field)
	if err != nil {
		return "", err
	}
	q, err := SearchSQL(table, f, w, 0)
	if err != nil {
		return "", err
	}
	_, where, _ := strings.Cut(q, "\nFROM "+table)
	where = strings.TrimSuffix(strings.TrimSuffix(where, ";"), "\nORDER BY eventtime")
	return "SELECT " + col + " AS value, count(*) AS events\nFROM " + table + where + "\nGROUP BY 1\nORDER BY 2 DESC;", nil
}

// RuleSQL translates a rule's detection to a query, when every part of it is expressible.
func RuleSQL(table string, r *Rule, w Window) (string, error) {
	if !identRE.MatchString(table) {
		return "", fmt.Errorf("invalid table name %q", table)
	}
	cond, err := nodeSQL(r.cond)
	if err != nil {
		return "", err
	}
	conds := append(windowConds(w), cond)
	where := "\nWHERE " + strings.Join(conds, "\n  AND ")
	header := "-- " + strings.ReplaceAll(r.Name+": "+r.Title, "\n", " ") + "\n"
	if r.agg != nil {
		if r.agg.distinct != "" {
			return "", errors.New("count(field) aggregations are not translated")
		}
		gcol := "'all'"
		if r.agg.groupBy != "" {
			if gcol, err = columnFor(r.agg.groupBy); err != nil {
				return "", err
			}
		}
		// Athena has no sliding window here: count per fixed window of the rule's timeframe.
		secs := int(r.Timeframe.Seconds())
		bucket := fmt.Sprintf("from_unixtime(floor(to_unixtime(from_iso8601_timestamp(eventtime)) / %d) * %d)", secs, secs)
		return header + "-- counted in fixed " + r.Timeframe.String() + " windows (yagura hunt slides the window)\n" +
			"SELECT recipientaccountid, awsregion, " + gcol + " AS grp, " + bucket + " AS window_start, count(*) AS events\nFROM " + table + where +
			"\nGROUP BY 1, 2, 3, 4\nHAVING count(*) " + r.agg.op + " " + strconv.Itoa(r.agg.n) + "\nORDER BY events DESC;", nil
	}
	return header + "SELECT eventtime, recipientaccountid, awsregion, eventsource, eventname, useridentity.arn AS principal, sourceipaddress\nFROM " + table + where + "\nORDER BY eventtime;", nil
}

func nodeSQL(n cnode) (string, error) {
	join := func(kids []cnode, op string) (string, error) {
		var parts []string
		for _, k := range kids {
			s, err := nodeSQL(k)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return "(" + strings.Join(parts, " "+op+" ") + ")", nil
	}
	switch n := n.(type) {
	case *andNode:
		return join(n.kids, "AND")
	case *orNode:
		return join(n.kids, "OR")
	case *notNode:
		s, err := nodeSQL(n.kid)
		return "NOT COALESCE(" + s + ", false)", err
	case *ofNode:
		if n.n < 0 {
			return join(n.kids, "AND")
		}
		if n.n == 1 {
			return join(n.kids, "OR")
		}
		return "", errors.New("\"N of\" with N > 1 is not translated")
	case *selection:
		if n.keywords != nil {
			return "", errors.New("keyword selections are not translated")
		}
		var ors []string
		for _, and := range n.any {
			var ands []string
			for _, fm := range and {
				s, err := fieldSQL(fm)
				if err != nil {
					return "", err
				}
				ands = append(ands, s)
			}
			ors = append(ors, "("+strings.Join(ands, " AND ")+")")
		}
		return "(" + strings.Join(ors, " OR ") + ")", nil
	}
	return "", fmt.Errorf("unsupported condition node %T", n)
}

func fieldSQL(fm *fieldMatch) (string, error) {
	col, err := columnFor(fm.field)
	if err != nil {
		return "", err
	}
	if fm.exists != nil {
		if *fm.exists {
			return col + " IS NOT NULL", nil
		}
		return col + " IS NULL", nil
	}
	var parts []string
	for _, v := range fm.values {
		switch m := v.(type) {
		case nullMatch:
			parts = append(parts, col+" IS NULL")
		case *fieldRef:
			other, err := columnFor(m.other)
			if err != nil {
				return "", err
			}
			parts = append(parts, col+" = "+other)
		case *strMatch:
			c, lit := col, m.s
			if !m.cased {
				c = "lower(" + col + ")"
			}
			esc := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(lit)
			switch m.op {
			case opEq:
				parts = append(parts, c+" = "+quote(lit))
			case opPrefix:
				parts = append(parts, c+" LIKE "+quote(esc+"%")+` ESCAPE '\'`)
			case opSuffix:
				parts = append(parts, c+" LIKE "+quote("%"+esc)+` ESCAPE '\'`)
			default:
				parts = append(parts, c+" LIKE "+quote("%"+esc+"%")+` ESCAPE '\'`)
			}
		case *reMatch:
			parts = append(parts, "regexp_like("+col+", "+quote(m.re.String())+")")
		case *cidrMatch:
			parts = append(parts, "contains("+quote(m.p.String())+", TRY_CAST("+col+" AS IPADDRESS))")
		case *numMatch:
			op := map[string]string{"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}[m.op]
			parts = append(parts, "TRY_CAST("+col+" AS DOUBLE) "+op+" "+strconv.FormatFloat(m.n, 'g', -1, 64))
		default:
			return "", fmt.Errorf("value matcher %T is not translated", v)
		}
	}
	if fm.all {
		if len(parts) > 1 {
			return "", errors.New("|all over a single column is only translated for one value")
		}
	}
	return "(" + strings.Join(parts, " OR ") + ")", nil
}

// AthenaAPI is the part of the Athena client used to run queries.
type AthenaAPI interface {
	StartQueryExecution(context.Context, *athena.StartQueryExecutionInput, ...func(*athena.Options)) (*athena.StartQueryExecutionOutput, error)
	GetQueryExecution(context.Context, *athena.GetQueryExecutionInput, ...func(*athena.Options)) (*athena.GetQueryExecutionOutput, error)
	GetQueryResults(context.Context, *athena.GetQueryResultsInput, ...func(*athena.Options)) (*athena.GetQueryResultsOutput, error)
}

// QueryResult is a finished query's table; the header row Athena returns first for SELECTs is
// moved to Columns.
type QueryResult struct {
	ID      string     `json:"query_execution_id"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// RunQuery submits sql, polls until it finishes and reads every result page.
func RunQuery(ctx context.Context, c AthenaAPI, sql, workgroup, output, database string, poll time.Duration) (*QueryResult, error) {
	in := &athena.StartQueryExecutionInput{QueryString: &sql}
	if workgroup != "" {
		in.WorkGroup = &workgroup
	}
	if output != "" {
		in.ResultConfiguration = &athenatypes.ResultConfiguration{OutputLocation: &output}
	}
	if database != "" {
		in.QueryExecutionContext = &athenatypes.QueryExecutionContext{Database: &database}
	}
	start, err := c.StartQueryExecution(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("athena StartQueryExecution: %w", err)
	}
	id := aws.ToString(start.QueryExecutionId)
	if poll <= 0 {
		poll = time.Second
	}
	for {
		out, err := c.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: &id})
		if err != nil {
			return nil, fmt.Errorf("athena GetQueryExecution: %w", err)
		}
		st := out.QueryExecution.Status
		if st != nil {
			switch st.State {
			case athenatypes.QueryExecutionStateSucceeded:
				return readResults(ctx, c, id)
			case athenatypes.QueryExecutionStateFailed, athenatypes.QueryExecutionStateCancelled:
				return nil, fmt.Errorf("athena query %s %s: %s", id, st.State, aws.ToString(st.StateChangeReason))
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

func readResults(ctx context.Context, c AthenaAPI, id string) (*QueryResult, error) {
	res := &QueryResult{ID: id}
	p := athena.NewGetQueryResultsPaginator(c, &athena.GetQueryResultsInput{QueryExecutionId: &id})
	first := true
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("athena GetQueryResults: %w", err)
		}
		if page.ResultSet == nil {
			continue
		}
		if first && page.ResultSet.ResultSetMetadata != nil {
			for _, ci := range page.ResultSet.ResultSetMetadata.ColumnInfo {
				res.Columns = append(res.Columns, aws.ToString(ci.Name))
			}
		}
		for i, row := range page.ResultSet.Rows {
			vals := make([]string, len(row.Data))
			for j, d := range row.Data {
				vals[j] = aws.ToString(d.VarCharValue)
			}
			// SELECT results repeat the column names as their first row.
			if first && i == 0 && len(res.Columns) == len(vals) && equalStrings(vals, res.Columns) {
				continue
			}
			res.Rows = append(res.Rows, vals)
		}
		first = false
	}
	return res, nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
