module github.com/djsession/djsession

go 1.26.8
