package awsapi

import (
	"context"
	"errors"
)

// SSM Parameter Store (JSON 1.1, X-Amz-Target AmazonSSM.*).

// A Parameter is one SSM parameter. The value of a SecureString is never
// read: the calls do not ask for decryption, and Value is "" for them.
type Parameter struct {
	Name  string
	Type  string // String, StringList, SecureString
	Value string
}

type ssmParameter struct {
	Name  string `json:"Name"`
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

func (p ssmParameter) parameter() Parameter {
	out := Parameter{Name: p.Name, Type: p.Type, Value: p.Value}
	if p.Type == "SecureString" {
		out.Value = "" // its ciphertext, and nothing to show anyway
	}
	return out
}

// GetParametersByPath returns the parameters directly under path (not
// recursive).
func (c *Client) GetParametersByPath(ctx context.Context, path string) ([]Parameter, error) {
	const action = "ssm:GetParametersByPath"
	var all []Parameter
	token := ""
	for range maxPages {
		in := map[string]any{"Path": path, "Recursive": false, "WithDecryption": false, "MaxResults": 10}
		if token != "" {
			in["NextToken"] = token
		}
		data, err := c.call(ctx, svcSSM, action, MaxAnswer, jsonRequest("AmazonSSM.GetParametersByPath", in))
		if err != nil {
			return nil, err
		}
		var out struct {
			Parameters []ssmParameter `json:"Parameters"`
			NextToken  string         `json:"NextToken"`
		}
		if err := decode(action, data, &out); err != nil {
			return nil, err
		}
		for _, p := range out.Parameters {
			all = append(all, p.parameter())
		}
		if out.NextToken == "" || out.NextToken == token {
			break
		}
		token = out.NextToken
	}
	return all, nil
}

// GetParameter returns the parameter name; ok false when there is none.
func (c *Client) GetParameter(ctx context.Context, name string) (p Parameter, ok bool, err error) {
	const action = "ssm:GetParameter"
	data, err := c.call(ctx, svcSSM, action, MaxAnswer, jsonRequest("AmazonSSM.GetParameter", map[string]any{"Name": name, "WithDecryption": false}))
	var e *Error
	if errors.As(err, &e) && e.Code == "ParameterNotFound" {
		return Parameter{}, false, nil
	}
	if err != nil {
		return Parameter{}, false, err
	}
	var out struct {
		Parameter ssmParameter `json:"Parameter"`
	}
	if err := decode(action, data, &out); err != nil {
		return Parameter{}, false, err
	}
	return out.Parameter.parameter(), true, nil
}
