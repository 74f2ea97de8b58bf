package awsapi

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
)

// CloudFormation (query protocol: a form POST, an XML answer).

// StackOutputs returns the outputs of stack name (its name or id), by
// OutputKey.
func (c *Client) StackOutputs(ctx context.Context, name string) (map[string]string, error) {
	const action = "cloudformation:DescribeStacks"
	form := url.Values{"Action": {"DescribeStacks"}, "Version": {"2010-05-15"}, "StackName": {name}}
	data, err := c.call(ctx, svcCFN, action, MaxAnswer, func(ctx context.Context, base string, _ bool) (*http.Request, []byte, error) {
		body := []byte(form.Encode())
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/", bytes.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		return req, body, nil
	})
	if err != nil {
		return nil, err
	}
	var out struct {
		Stacks []struct {
			StackName string `xml:"StackName"`
			Outputs   []struct {
				Key   string `xml:"OutputKey"`
				Value string `xml:"OutputValue"`
			} `xml:"Outputs>member"`
		} `xml:"DescribeStacksResult>Stacks>member"`
	}
	if err := xml.Unmarshal(data, &out); err != nil {
		return nil, &Error{Action: action, Err: fmt.Errorf("the answer is not the expected XML: %w", err)}
	}
	if len(out.Stacks) != 1 {
		return nil, &Error{Action: action, Err: fmt.Errorf("%d stacks named %q", len(out.Stacks), name)}
	}
	outputs := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		outputs[o.Key] = o.Value
	}
	return outputs, nil
}
